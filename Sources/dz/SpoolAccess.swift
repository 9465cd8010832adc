import DZSpool
import DZSystem

/// The check an agent and the coordinator make at start: every spool directory they will write must be
/// writable by them (see `Spool.unwritableDirectories`). A spool made by another user, or not shared with
/// `dz init --group`, would otherwise fail later, one rename at a time.
enum SpoolAccess {
    static func check(_ spool: Spool, queues: [QueueName]) throws {
        let denied = spool.unwritableDirectories(for: queues)
        guard !denied.isEmpty else { return }
        let shown = denied.prefix(3).joined(separator: ", ") + (denied.count > 3 ? " and \(denied.count - 3) more" : "")
        complain("cannot write \(shown) as uid \(Host.userID): the spool's directories must belong to a group this "
                 + "user is in, mode 2770. As root, run `dz init --group dz --spool \(spool.root)` and run agents "
                 + "and the coordinator as members of that group (see SECURITY in dz(1))")
        throw ExitStatus.unavailable
    }
}
