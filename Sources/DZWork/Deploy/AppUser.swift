#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
import Logging

/// The unix user an app runs as: one per project, `dz_<project>`, so that apps cannot read or signal each other
/// and none can touch dz's own files.
///
/// Made when missing with `useradd --system --no-create-home --user-group --home-dir /nonexistent --shell
/// /usr/sbin/nologin`. When dz does not run as root there is no switch: the app runs as the agent's own user
/// (`switches` is false), which keeps development hosts working but gives no separation between apps.
public struct AppUser: Sendable, Equatable {
    public let name: String
    public let uid: UInt32
    public let gid: UInt32
    /// True when processes switch to this user (dz runs as root); false when they run as dz's own user.
    public let switches: Bool

    public init(name: String, uid: UInt32, gid: UInt32, switches: Bool) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.switches = switches
    }

    /// The owner for `chown`-like calls: nil when dz is not root (files stay the agent's).
    var owner: (uid: UInt32, gid: UInt32)? { switches ? (uid, gid) : nil }

    /// `dz_<project>`; a project id too long for a 32-character user name keeps a prefix and gets `_` and six
    /// hex digits of its SHA-256, so that the name stays unique and the same on every host.
    public static func userName(for project: ProjectID) -> String {
        let plain = "dz_" + project.rawValue
        if plain.utf8.count <= 32 { return plain }
        let hash = SHA256Digest.hash(Array(project.rawValue.utf8)).prefix(6)
        return "dz_" + project.rawValue.prefix(22) + "_" + hash
    }

    /// The project's user, made if missing; dz's own user when not running as root.
    public static func ensure(for project: ProjectID, logger: Logger) async throws(DeployError) -> AppUser {
        guard getuid() == 0 else {
            let uid = getuid()
            return AppUser(name: lookup(uid: uid) ?? "uid\(uid)", uid: uid, gid: getgid(), switches: false)
        }
        let name = userName(for: project)
        if let found = lookup(name) { return AppUser(name: name, uid: found.uid, gid: found.gid, switches: true) }
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(
                ["useradd", "--system", "--no-create-home", "--user-group", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", name],
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"], timeout: 60)
        } catch {
            throw .user("cannot run useradd for \(name): \(error)")
        }
        // Another deploy of the same project may have made the user a moment ago: believe getpwnam.
        guard let made = lookup(name) else {
            throw .user("useradd \(name) failed: \(outcome.tail(5))")
        }
        if outcome.succeeded { logger.info("app user created", metadata: ["user": "\(name)", "uid": "\(made.uid)"]) }
        return AppUser(name: name, uid: made.uid, gid: made.gid, switches: true)
    }

    /// The uid and gid of the user `name`, or nil.
    ///
    /// The corresponding C function is `getpwnam_r`.
    static func lookup(_ name: String) -> (uid: UInt32, gid: UInt32)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return (entry.pw_uid, entry.pw_gid)
    }

    /// The name of the user `uid`, or nil.
    ///
    /// The corresponding C function is `getpwuid_r`.
    static func lookup(uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil,
              let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}
