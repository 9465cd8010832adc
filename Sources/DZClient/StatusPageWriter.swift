import DZSpool
import DZSystem
import Logging
import ServiceLifecycle

/// Keeps a status page in a directory that a web server serves as static files (see etc/nginx/dz-status.conf):
/// `index.html` (the page, written once at start) and `status.json` (its data, `StatusPage`), each replaced by
/// one rename, so that a reader gets the old file or the new one, never a part.
///
/// The data is gathered again only when something it comes from changed (the published state's directories,
/// the heartbeats, the queues' `new/` and `cur/`: each changes its mtime when a file is renamed in or out), and
/// at least every `refresh` seconds; an idle spool costs a few `stat`s a second.
public struct StatusPageWriter: Service {
    public let page: StatusPage
    public let directory: String
    /// Seconds between looks for a change.
    public var interval: Double = 1
    /// Seconds after which the data is written again even without a change (its ages move on).
    public var refresh: Double = 30
    let logger: Logger

    public init(page: StatusPage, directory: String, logger: Logger) {
        self.page = page
        self.directory = directory
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        do { try FileSystem.makeDirectories(directory, mode: 0o755) } catch {
            throw ClientError.unavailable("status page directory \(directory): \(error)")
        }
        try replace("index.html", Array(StatusPageHTML.page.utf8))
        var last: [Timestamp] = []
        var written = Timestamp.distantPast
        var failureLogged = Timestamp.distantPast
        while !Task.isCancelled {
            let now = Timestamp.now()
            let marks = fingerprint()
            if marks != last || now - written >= refresh {
                do {
                    let document = try page.document(now: now)
                    try replace("status.json", document.serialized() + [0x0A])
                    last = marks
                    written = now
                } catch {
                    if now - failureLogged > 60 {
                        logger.warning("status page not written", metadata: ["dir": "\(directory)", "error": "\(error)"])
                        failureLogged = now
                    }
                }
            }
            try await Task.sleep(seconds: interval)
        }
    }

    /// The mtimes of what the page's data comes from.
    private func fingerprint() -> [Timestamp] {
        let spool = page.spool
        var paths = [spool.statePath, spool.statePath + "/jobs", spool.statePath + "/projects", spool.hostsPath]
        for queue in (try? spool.queues()) ?? [] {
            paths.append(spool.path(queue, .new))
            paths.append(spool.path(queue, .cur))
        }
        return paths.map { (try? FileSystem.status($0))?.modified ?? .distantPast }
    }

    /// Replaces `name` in the directory by one rename (mode 0644: the web server's user reads it).
    private func replace(_ name: String, _ bytes: [UInt8]) throws(ClientError) {
        do { try FileIO.replace(directory + "/" + name, bytes: bytes, mode: 0o644, sync: false) } catch {
            throw ClientError.unavailable("cannot write \(directory)/\(name): \(error)")
        }
    }
}
