import DZSystem

/// The one coordinator of a spool: a lease file, `<spool>/coordinator.lease`, that works across hosts (an
/// `flock` does not: NFS clients and bindfs views do not share locks).
///
/// The file names its holder (host, boot id, pid, zoomdb, a random token) and is renewed like a heartbeat: its
/// holder touches it every few seconds. A coordinator takes the lease by linking a file of its own to that name
/// (one of several contenders wins); it takes over a lease only when its holder is known gone: on the same host,
/// a pid that no longer runs under the same boot; on another host, a file not touched for `leaseSeconds` plus
/// the allowed clock skew. A holder that finds the file no longer its own (it was stopped past its lease and
/// another took over) must stop at once.
public struct CoordinatorLease: Sendable {
    public let path: String
    let token: String
    let spool: Spool

    /// How long a lease lives without renewal.
    public static let leaseSeconds = 30.0
    /// How often the holder renews.
    public static let renewInterval = 5.0

    /// Who holds the lease, as its file says.
    public struct Holder: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var bootID: String
        public var pid: Int32
        public var database: String
        public var started: String
        public var token: String
        /// Where the coordinator listens for wake-up rings of `results` and `jobs`; empty when it does not.
        public var wake: [SocketAddress] = []

        public var description: String { "\(host) pid \(pid) (zoomdb \(database), since \(started))" }
    }

    /// Why the lease could not be taken.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case held(Holder)
        case system(SpoolError)

        public var description: String {
            switch self {
            case .held(let holder): "another coordinator holds this spool's lease: \(holder)"
            case .system(let error): "cannot take the coordinator lease: \(error)"
            }
        }
    }

    /// Takes the spool's coordinator lease for a coordinator keeping `database` (and listening for wake-up rings
    /// on `wake`, which the file publishes).
    public static func acquire(spool: Spool, database: String, wake: [SocketAddress] = [], skew: Double = 2,
                               now: Timestamp = .now()) throws(Refusal) -> CoordinatorLease
    {
        let path = spool.root + "/coordinator.lease"
        let token = Host.randomBytes(8).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        var object: [String: JSONValue] = [
            "host": .string(spool.host.rawValue), "boot_id": .string(Host.bootID), "pid": .int(Int64(spool.pid)),
            "db": .string(database), "started": .string(now.rfc3339), "token": .string(token),
        ]
        if !wake.isEmpty { object["wake"] = .array(wake.map { .string($0.description) }) }
        let temporary = spool.root + "/.coordinator.lease." + token
        do {
            try SpoolModes.createFile(temporary, bytes: JSONValue.object(object).serialized() + [0x0A],
                                      sync: spool.sync)
        } catch {
            throw .system(error.at("write", temporary))
        }
        defer { try? FileSystem.unlink(temporary) }
        for _ in 0..<5 {
            do {
                try FileSystem.link(temporary, path)
                spool.syncDirectory(spool.root)
                spool.audit.record("coordinator-lease", [("db", database), ("token", token)])
                return CoordinatorLease(path: path, token: token, spool: spool)
            } catch .fileExists {
                // Held, or left by a coordinator that is gone.
            } catch {
                // NFS may report a link that happened as failed.
                if (try? FileSystem.status(path))?.inode == (try? FileSystem.status(temporary))?.inode {
                    return CoordinatorLease(path: path, token: token, spool: spool)
                }
                throw .system(error.at("link", path))
            }
            guard let status = try? FileSystem.linkStatus(path) else { continue }
            let holder = read(path)
            if let holder, isAlive(holder, status: status, spool: spool, skew: skew, now: now) {
                throw .held(holder)
            }
            // Gone: moved aside under a name of our own (one contender wins), then checked to be the very file
            // judged stale, not a fresh lease another contender linked meanwhile.
            let aside = spool.root + "/.coordinator.lease.stale." + token
            guard (try? FileSystem.rename(path, aside)) != nil else { continue }
            if (try? FileSystem.linkStatus(aside))?.inode != status.inode {
                try? FileSystem.link(aside, path)
                try? FileSystem.unlink(aside)
                continue
            }
            try? FileSystem.unlink(aside)
            spool.audit.record("coordinator-lease-taken-over", [("from", holder?.description ?? "an unreadable lease")])
        }
        if let holder = read(path) { throw .held(holder) }
        throw .system(Errno.fileExists.at("link", path))
    }

    /// Renews the lease: `false` when the file is no longer this holder's (another coordinator took over after
    /// this one stopped renewing, or it was removed): the caller must stop.
    public func renew() -> Bool {
        guard read(CoordinatorLease.self) else { return false }
        do { try FileSystem.touch(path) } catch { return false }
        return read(CoordinatorLease.self)
    }

    /// Whether the file at `path` still carries this holder's token.
    private func read(_: CoordinatorLease.Type) -> Bool { CoordinatorLease.read(path)?.token == token }

    /// Gives the lease up (graceful stop), if it is still this holder's.
    public func release() {
        guard read(CoordinatorLease.self) else { return }
        try? FileSystem.unlink(path)
        spool.syncDirectory(spool.root)
    }

    /// The holder a lease file names, or nil when it does not read as one.
    public static func read(_ path: String) -> Holder? {
        guard case .contents(let bytes, _)? = try? FileIO.read(path, limit: 64 * 1024),
              case .object(let object)? = try? JSONValue.parse(bytes) else { return nil }
        return Holder(host: object["host"]?.stringValue ?? "?", bootID: object["boot_id"]?.stringValue ?? "",
                      pid: Int32(clamping: object["pid"]?.intValue ?? 0), database: object["db"]?.stringValue ?? "?",
                      started: object["started"]?.stringValue ?? "?", token: object["token"]?.stringValue ?? "",
                      wake: Heartbeat.wakeAddresses(object["wake"]))
    }

    /// Whether the holder may still be running: on this very boot of this host, its pid decides; elsewhere,
    /// whether it renewed within the lease and the skew.
    static func isAlive(_ holder: Holder, status: FileStatus, spool: Spool, skew: Double, now: Timestamp) -> Bool {
        if holder.host == spool.host.rawValue, !holder.bootID.isEmpty, holder.bootID == Host.bootID {
            return holder.pid != spool.pid && Host.isAlive(pid: holder.pid)
        }
        // The modification time alone: only the holder's renewals set it (the file is never renamed in place).
        return now - status.modified <= leaseSeconds + skew
    }
}
