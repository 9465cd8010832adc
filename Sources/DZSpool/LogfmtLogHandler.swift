import DZSystem
import Logging

/// A swift-log handler that writes one logfmt line per message to standard error, in the audit log's format:
/// `ts=... level=warning label=dz.agent msg="..." key=value ...`. Values are quoted and escaped (a file name
/// holding a newline cannot forge a line). When standard error is the journal (`JOURNAL_STREAM` names it), each
/// line starts with its syslog priority (`<4>` for a warning) instead of a time, so that `journalctl -p` filters.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    let journal: Bool

    public init(label: String, level: Logger.Level, journal: Bool = StandardError.isJournal) {
        self.label = label
        logLevel = level
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error"] = "\(error)" }
        StandardError.write(LogfmtLogHandler.line(level: event.level, label: label, message: event.message.description,
                                                  metadata: merged, journal: journal, time: .now()))
    }

    /// The line for one message (with its newline).
    static func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, journal: Bool,
                     time: Timestamp) -> String
    {
        var text = journal ? "<\(priority(level))>" : "ts=\(time.rfc3339) "
        text += "level=\(level.rawValue) label=\(Logfmt.quote(label)) msg=\(Logfmt.quote(message))"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            text += " \(Logfmt.key(key))=\(Logfmt.quote("\(value)"))"
        }
        return text + "\n"
    }

    /// syslog's priority for a level: 7 debug ... 2 critical.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
