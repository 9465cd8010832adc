/// The processes of this host as `/proc` shows them: the one place dz reads `/proc/<pid>/`. Every answer is a
/// snapshot: a process can exit, and its pid be reused, right after it was read, so callers that act on a process
/// check what they read (its uid, its command line) against what they expect.
public enum ProcessTable {
    /// A process's ids and state, from `/proc/<pid>/status`.
    public struct Status: Sendable, Equatable {
        public var realUID: UInt32
        public var effectiveUID: UInt32
        public var parent: Int32
        /// The state letter: `R`, `S`, `D`, `T`, `Z` (a zombie), `X` (dead), ...
        public var state: Character

        public init(realUID: UInt32, effectiveUID: UInt32, parent: Int32, state: Character) {
            self.realUID = realUID
            self.effectiveUID = effectiveUID
            self.parent = parent
            self.state = state
        }

        /// Parses `/proc/<pid>/status`'s text; nil without its `Uid:` line.
        public init?(text: String) {
            var uids: [UInt32] = []
            var parent: Int32 = 0
            var state: Character = "?"
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 2 else { continue }
                switch fields[0] {
                case "Uid:": uids = fields.dropFirst().compactMap { UInt32($0) }
                case "PPid:": parent = Int32(fields[1]) ?? 0
                case "State:": state = fields[1].first ?? "?"
                default: break
                }
            }
            guard uids.count >= 2 else { return nil }
            self.init(realUID: uids[0], effectiveUID: uids[1], parent: parent, state: state)
        }

        /// Neither a zombie nor dead.
        public var isRunning: Bool { state != "Z" && state != "X" }
    }

    /// The pids of the processes that exist now.
    public static func pids() -> [Int32] {
        ((try? FileSystem.names(in: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// The status of `pid`, or nil when it does not exist (or cannot be read).
    public static func status(of pid: Int32) -> Status? {
        guard pid > 0, case .contents(let bytes, _)? = try? FileIO.read("/proc/\(pid)/status", limit: 64 * 1024)
        else { return nil }
        return Status(text: String(decoding: bytes, as: UTF8.self))
    }

    /// The arguments of `pid` as it set them (a program may rewrite its title, as gunicorn and nginx do); empty
    /// when it does not exist.
    public static func commandLine(of pid: Int32) -> [String] {
        guard pid > 0, case .contents(let bytes, _)? = try? FileIO.read("/proc/\(pid)/cmdline", limit: 256 * 1024)
        else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// This program's own executable, its links resolved (`/proc/self/exe`).
    public static func ownExecutable() throws(Errno) -> String {
        try FileSystem.resolve("/proc/self/exe")
    }
}
