import DZSystem

/// Where the agents of one host take turns listening to a queue: one lock file per spool, host id and queue, in a
/// directory on the host's own disk (never in the spool: another host must not share it, and NFS has no flock).
///
/// The agent holding a queue's lock watches its `new/` with inotify and claims what appears; the others of the
/// host do not watch it at all, so a drop wakes one agent instead of all of them. An agent takes its turn only
/// while it has a free worker, and gives it up when its workers have all been busy for a while (see
/// `QueueWatcher`). The lock is only about wake-ups: the claim is still the rename into `cur/`, every agent still
/// rescans every `new/` periodically, so a holder that is stopped (SIGSTOP keeps its lock) delays the others'
/// pickup to at most two rescan intervals (an agent without the turn claims only what two of its rescans found),
/// and one that dies releases it at once (the kernel drops a dead process's locks). An agent that gives up its
/// turn forgets the names of the queue it has not tried: the next holder lists them, and only it claims them.
public struct HostTurns: Sendable {
    /// The directory holding the lock files: made 0700, and used only if this user owns it.
    public let directory: String
    public let spoolID: String
    public let host: HostID

    public init(directory: String, spoolID: String, host: HostID) throws(SpoolError) {
        guard WakeRing.isValidSpoolID(spoolID) else {
            throw SpoolError.badTask(BadInput("spool-id", "the spool id \(spoolID.prefix(80)) cannot name a lock file: "
                                                + "1 to 64 of [A-Za-z0-9_-]"))
        }
        do { try FileSystem.makeDirectories(directory, mode: 0o700) } catch { throw error.at("mkdir", directory) }
        let status: FileStatus
        do { status = try FileSystem.linkStatus(directory) } catch { throw error.at("stat", directory) }
        // Another user's directory (or a link planted in /tmp) could hold the locks forever: refused.
        guard status.kind == .directory, status.owner == Host.effectiveUserID, status.permissions & 0o022 == 0 else {
            throw SpoolError.notFound("a directory of this user's, not writable by others, at \(directory)")
        }
        self.directory = directory
        self.spoolID = spoolID
        self.host = host
    }

    /// The lock file of `queue`: `<spool id>.<host id>.<queue>.turn` (none of the three holds a slash; a host id
    /// may hold dots, so the queue, which is last, is told apart by the spool id and host id of the same agent).
    public func lockPath(_ queue: QueueName) -> String {
        directory + "/" + spoolID + "." + host.rawValue + "." + queue.rawValue + ".turn"
    }

    /// The default directory: systemd's `$RUNTIME_DIRECTORY` (`RuntimeDirectory=dz` in the unit), else
    /// `$XDG_RUNTIME_DIR/dz`, else `/run/dz` for root and `/tmp/dz-<uid>` for another user.
    public static func defaultDirectory(environment: [String: String], uid: UInt32) -> String {
        if let runtime = environment["RUNTIME_DIRECTORY"], runtime.hasPrefix("/") {
            // systemd may list several, separated by colons: the first is this unit's.
            return String(runtime.split(separator: ":").first ?? Substring(runtime))
        }
        if let xdg = environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/") { return xdg + "/dz" }
        return uid == 0 ? "/run/dz" : "/tmp/dz-\(uid)"
    }
}
