import DZSpool

/// A `logs` job's result as `dz logs` shows it: each file's lines under a label, and the positions to follow from.
public struct LogsReport: Sendable, Equatable {
    /// Where the reader of one file stopped (see `read_logs`' `since`), and which queue reads that file.
    public struct Position: Sendable, Equatable {
        public var offset: Int64
        public var inode: Int64
        public var queue: String

        public init(offset: Int64, inode: Int64, queue: String) {
            self.offset = offset
            self.inode = inode
            self.queue = queue
        }
    }

    public struct File: Sendable, Equatable {
        /// The file's name on its host: `<instance>.error.log`, `dz_<project>.access.log`.
        public var name: String
        public var queue: String
        /// `<appserver>/<instance> error|access` or `proxy/<project> access`.
        public var label: String
        public var lines: [String]
        /// Nil when the file was not read.
        public var position: Position?
        public var restarted: Bool
        public var skippedBytes: Int64
        /// Why the file was not read (`missing`, `refused: ...`).
        public var error: String?
    }

    public var files: [File]
    /// Instances an appserver did not have any more.
    public var missing: [String]
    /// Queues whose step failed (or had not answered yet, in a partial report): their logs are not in `files`.
    public var unanswered: [String]
    /// False for a report made from a job that had not finished (`LogsJob.partialResult`).
    public var complete = true

    /// Reads a `logs` job's result for `project`.
    public init(result: [String: JSONValue], project: String, complete: Bool = true) {
        self.complete = complete
        files = (result["files"]?.arrayValue ?? []).compactMap(\.objectValue).compactMap { object in
            guard let name = object["name"]?.stringValue, let queue = object["queue"]?.stringValue else { return nil }
            let source = queue.hasPrefix("appserver_") ? String(queue.dropFirst("appserver_".count)) : queue
            let stream = object["stream"]?.stringValue ?? "log"
            let label = source + "/" + (object["instance"]?.stringValue ?? project) + " " + stream
            var position: Position?
            if object["error"] == nil, let offset = object["offset"]?.intValue {
                position = Position(offset: offset, inode: object["inode"]?.intValue ?? 0, queue: queue)
            }
            return File(name: name, queue: queue, label: label,
                        lines: (object["lines"]?.arrayValue ?? []).compactMap(\.stringValue), position: position,
                        restarted: object["restarted"] == .bool(true),
                        skippedBytes: object["skipped_bytes"]?.intValue ?? 0, error: object["error"]?.stringValue)
        }
        missing = (result["missing"]?.arrayValue ?? []).compactMap(\.stringValue)
        unanswered = (result["unanswered"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    /// The report with at most `count` lines in all (`dz logs -n`), each file keeping its last ones: the count is
    /// shared out one line per file in turn, so that every log that has lines shows some (a busy access log does
    /// not push an instance's last error off the screen), and what a file does not need goes to the others.
    public func limited(toLines count: Int) -> LogsReport {
        var kept = Array(repeating: 0, count: files.count)
        var left = max(0, count)
        var grew = true
        while left > 0, grew {
            grew = false
            for index in files.indices where left > 0 && kept[index] < files[index].lines.count {
                kept[index] += 1
                left -= 1
                grew = true
            }
        }
        var limited = self
        for index in files.indices { limited.files[index].lines = Array(files[index].lines.suffix(kept[index])) }
        return limited
    }

    /// Every line, prefixed by its file's label: `app1/<instance> error | <line>`.
    public var labelledLines: [String] {
        files.flatMap { file in file.lines.map { file.label + " | " + $0 } }
    }

    /// The positions to read on from: `previous` updated with these files'; a file that a queue which answered no
    /// longer lists (its instance was stopped) is forgotten, one of a queue that did not answer is kept.
    public func positions(after previous: [String: Position]) -> [String: Position] {
        let answered = Set(files.map(\.queue))
        var positions = previous.filter { !answered.contains($0.value.queue) }
        for file in files {
            if let position = file.position { positions[file.name] = position }
        }
        return positions
    }

    /// `positions` as the job's `since` parameter.
    public static func since(_ positions: [String: Position]) -> JSONValue {
        .object(positions.mapValues { .object(["offset": .int($0.offset), "inode": .int($0.inode)]) })
    }
}
