/// One thing the fuzz test puts into a queue's `new/`: its name (raw bytes: names need not be UTF-8), what it is
/// (bytes, a FIFO, a directory, a symbolic link), its modification time, and what the generator fuzzed in it.
struct FuzzFile: CustomStringConvertible {
    /// The queue it goes into, and who consumes it.
    enum Inbox: String, CaseIterable {
        /// `build`, served by the agent.
        case tasks
        /// `results`, taken by the coordinator.
        case results
        /// `jobs`, claimed by the coordinator.
        case requests

        var queue: String {
            switch self {
            case .tasks: "build"
            case .results: "results"
            case .requests: "jobs"
            }
        }

        /// The letter that starts the names of its name-shape, kind and mtime files.
        var letter: String {
            switch self {
            case .tasks: "t"
            case .results: "r"
            case .requests: "q"
            }
        }
    }

    /// Where a symbolic link points.
    enum LinkTarget {
        /// An absolute path outside the spool (or a device).
        case outside(String)
        /// A path under the spool root (made absolute when the link is made).
        case inSpool(String)
        /// The link text as it is.
        case relative(String)
    }

    enum Shape {
        case bytes([UInt8])
        case fifo
        case directory
        case symlink(LinkTarget)
    }

    let inbox: Inbox
    let name: [UInt8]
    let shape: Shape
    /// The modification time in seconds since the epoch; nil: an hour ago (settled, not deferred).
    let mtime: Double?
    /// What was fuzzed, for messages.
    let label: String
    /// The field (or aspect: name, kind, mtime, bytes) that was fuzzed, for the run's summary.
    var field = ""
    /// Whether the content is valid by the spec's rules (`FuzzSpec`) as the generator built it; nil when it cannot
    /// say (a byte mutation, a depth limit the spec leaves open).
    let specValid: Bool?
    /// 1: in place before the agent and the coordinator start (found by their first scan); 2: dropped while they
    /// run (found through inotify).
    var wave = 1

    var nameText: String? { String(validating: name, as: UTF8.self) }

    /// The name as it can be shown: hex for bytes that are not UTF-8.
    var shownName: String {
        nameText.map { $0.debugDescription } ?? "0x" + name.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
    }

    var description: String { "\(inbox.queue)/new/\(shownName) [\(label)]" }
}
