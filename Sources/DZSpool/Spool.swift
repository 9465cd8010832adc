import DZSystem
import Foundation
import Synchronization

/// Names handed out by `Spool.temporaryName` in this process.
private let temporaryNames = Atomic<Int>(0)
/// Random bits drawn once per process for `Spool.temporaryName`.
private let temporarySalt = Host.randomBytes(4).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined() + "-"

/// A spool: a directory of queues, each a directory of task files moved between `tmp/ new/ cur/ done/ failed/`
/// by atomic renames. The file system is the state; this type only moves files and says what happened.
///
/// See dz-spool(5) for the protocol. Every method is safe to call from several processes on several hosts at once.
public struct Spool: Sendable {
    /// The five directories of a queue.
    public enum Stage: String, Sendable, CaseIterable {
        case tmp, new, cur, done, failed
    }

    public let root: String
    public let host: HostID
    public let pid: Int32
    /// Whether files and directories are fsynced at each commit point (off: unsafe on power loss).
    public let sync: Bool
    public let audit: AuditLog
    let known: KnownDirectories
    /// What could not be written yet (reasons on a full disk), shared by the copies of this value.
    let pending: PendingWrites
    /// The directory fsyncs of this process, shared by the copies of this value (see `makeDurable`).
    let directorySync: DirectorySync
    /// What this process moved into each `done/` day, for `dz status` (see `DoneTally`), shared by the copies.
    let doneTally: DoneTally
    /// Told after each file this process puts into a queue's `new/` (see `Wakeups`); nil rings nobody.
    public var wakeups: (any WakeupSink)?

    public init(root: String, host: HostID = .local, pid: Int32 = Host.pid, sync: Bool = true) {
        self.init(root: root, host: host, pid: pid, sync: sync, directorySync: DirectorySync())
    }

    /// With the group commit's fsync in the caller's hands (tests make it fail).
    init(root: String, host: HostID = .local, pid: Int32 = Host.pid, sync: Bool, directorySync: DirectorySync) {
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        self.host = host
        self.pid = pid
        self.sync = sync
        audit = AuditLog(spoolRoot: trimmed, host: host, pid: pid)
        known = KnownDirectories()
        pending = PendingWrites()
        self.directorySync = directorySync
        doneTally = DoneTally(host: host, pid: pid)
    }

    /// The spool root to use: the explicit one, else `$DZ_SPOOL`, else `./spool`.
    public static func rootPath(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["DZ_SPOOL"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "spool"
    }

    public func path(_ queue: QueueName) -> String { root + "/" + queue.rawValue }
    public func path(_ queue: QueueName, _ stage: Stage) -> String { root + "/" + queue.rawValue + "/" + stage.rawValue }
    public var hostsPath: String { root + "/hosts" }
    public var logPath: String { root + "/log" }

    /// Creates the queue's directories if they are missing.
    public func create(_ queue: QueueName) throws(SpoolError) {
        for stage in Stage.allCases {
            let dir = path(queue, stage)
            do { try SpoolModes.makeDirectories(dir) } catch { throw error.at("mkdir", dir) }
        }
    }

    /// Creates the queue's directories unless this process already saw them.
    func ensure(_ queue: QueueName) throws(SpoolError) {
        let marker = path(queue, .new)
        guard !known.contains(marker) else { return }
        if !exists(queue) { try create(queue) }
        known.insert(marker)
    }

    /// Whether the queue's directories exist.
    public func exists(_ queue: QueueName) -> Bool {
        (try? FileSystem.status(path(queue, .new)))?.isDirectory == true
    }

    /// Creates the standard queues, `log/` and `hosts/`, and gives the root and each of them the shared
    /// directory mode (see `SpoolModes`), also when they existed, where this process may (another user's
    /// directories are left as they are: `share(withGroup:)` is root's tool for those).
    public func initialize(queues: [QueueName] = QueueName.standard) throws(SpoolError) {
        do { try SpoolModes.makeDirectories(root) } catch { throw error.at("mkdir", root) }
        for queue in queues { try create(queue) }
        for dir in [logPath, hostsPath] {
            do { try SpoolModes.makeDirectories(dir) } catch { throw error.at("mkdir", dir) }
        }
        let made = [root, logPath, hostsPath] + queues.flatMap { queue in
            [path(queue)] + Stage.allCases.map { path(queue, $0) }
        }
        for dir in made {
            do { try FileSystem.setMode(dir, SpoolModes.directory) } catch .notPermitted {
                continue
            } catch {
                throw error.at("chmod", dir)
            }
        }
        _ = try identity()
    }

    /// Every queue in the spool, by name.
    public func queues() throws(SpoolError) -> [QueueName] {
        let names: [String]
        do { names = try FileSystem.names(in: root) } catch { throw error.at("list", root) }
        return names.filter { QueueName.isValid($0) }.map { QueueName(unchecked: $0) }
            .filter { exists($0) }.sorted()
    }

    /// fsyncs a directory when the spool is durable, ignoring a failure (for files whose loss in a power cut
    /// costs a repeat, never a result: see dz-spool(5), Durability).
    func syncDirectory(_ dir: String) {
        try? makeDurable(dir)
    }

    /// When the spool is durable, returns once every rename into `dir` that this process made before the call is
    /// on disk: a group commit (`DirectorySync`), so that renames made at once by several threads share one fsync.
    /// A failed fsync is thrown: what was renamed may be lost in a power cut.
    func makeDurable(_ dir: String) throws(SpoolError) {
        guard sync else { return }
        do { try directorySync.sync(dir) } catch { throw error.at("fsync", dir) }
    }

    /// A name for a new file in `tmp/` that no other writer uses: time, host, pid, random bits drawn once per
    /// process, and the number of the name within the process.
    func temporaryName(_ hint: String) -> String {
        let number = temporaryNames.add(1, ordering: .relaxed).newValue
        return "\(Timestamp.now().compact).\(host.rawValue).\(pid).\(temporarySalt)\(number).\(hint)"
    }

    /// Writes `bytes` to a new file in the queue's `tmp/` (fsynced when durable) and returns its path.
    func writeTemporary(_ bytes: [UInt8], in queue: QueueName, hint: String) throws(SpoolError) -> String {
        let dir = path(queue, .tmp)
        for _ in 0..<8 {
            let file = dir + "/" + temporaryName(hint)
            do {
                try SpoolModes.createFile(file, bytes: bytes, sync: sync)
                return file
            } catch .fileExists {
                continue
            } catch .noSuchFileOrDirectory {
                try create(queue)
            } catch {
                throw error.at("write", file)
            }
        }
        throw Errno.fileExists.at("write", dir)
    }

    /// The day directory (`done/2026-11-29`) for `time`, created if needed.
    func dayDirectory(_ queue: QueueName, _ stage: Stage, at time: Timestamp = .now()) throws(SpoolError) -> String {
        let dir = path(queue, stage) + "/" + time.utcDay
        if known.contains(dir) { return dir }
        do { try SpoolModes.makeDirectories(dir) } catch { throw error.at("mkdir", dir) }
        try makeDurable(path(queue, stage))
        known.insert(dir)
        return dir
    }
}

/// Reasons that could not be written when their file was set aside (a full disk): path, line, queue.
final class PendingWrites: Sendable {
    let reasons = Mutex<[(String, String, QueueName)]>([])
}

/// Directories already known to exist (queues, day directories), so that the hot path does not `stat` or `mkdir`
/// for every task.
final class KnownDirectories: Sendable {
    private let known = Mutex<Set<String>>([])
    func contains(_ dir: String) -> Bool { known.withLock { $0.contains(dir) } }
    func insert(_ dir: String) { known.withLock { _ = $0.insert(dir) } }
}

extension Spool {
    /// Writes a small file into the queue's `tmp/` and removes it: whether this process can write the spool now
    /// (after a full disk or an I/O error).
    public func probeWrite(_ queue: QueueName) throws(SpoolError) {
        let file = try writeTemporary(Array("probe\n".utf8), in: queue, hint: "probe")
        do { try FileSystem.unlink(file) } catch { throw error.at("unlink", file) }
    }
}
