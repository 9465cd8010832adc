#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZAgent
import DZSpool
import DZSystem
import DZTasks
import Logging

/// The unix user an app runs as: one per project, so that apps cannot read or signal each other and none can
/// touch dz's own files.
///
/// The coordinator allocates the user once (its name and uid, recorded in the zoomdb with the project) and every
/// `deploy` task carries it as `app_user`: the appserver never chooses a name or a uid itself. The name is
/// `dz_<project>`, or `dz<uid>` for a project id too long for that (the rule of the zoomdb's `AppUserRecord`),
/// nothing cut short. The appserver makes the user when the host lacks it, under a host-wide lock (so that two
/// deploy steps of one project never run `useradd` together), with the uid as its own group's gid and the comment
/// `dz app <project>`: only root writes that field, and an app cannot run `chfn` (no new privileges), so a user
/// that carries it was made by dz for that project. An existing user is taken only if it is that user exactly
/// (name, uid, group and comment); anything else (a user dz did not make, a uid or group another account holds, a
/// uid in the subordinate ids of a local user's containers) is refused with a message that says what to fix.
///
/// When dz does not run as root there is no switch: the app runs as the agent's own user (`switches` is false),
/// which keeps development hosts working but gives no separation between apps.
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

    /// The user a `deploy` task names (`app_user`: `{"name": ..., "uid": ...}`), as the coordinator allocated it.
    public struct Allocation: Sendable, Equatable {
        public var name: String
        public var uid: UInt32

        public init(name: String, uid: UInt32) {
            self.name = name
            self.uid = uid
        }

        /// The checked argument: the name must be the one the rule gives for this project and uid, the uid an
        /// ordinary one (1000 and up, not `nobody`'s, below 2^31; `AppUserAllocation` checks that).
        init(argument value: JSONValue, project: ProjectID) throws(TaskFailure) {
            guard case .object(let object) = value else {
                throw .badArgs("app_user must be an object with a name and a uid")
            }
            let allocation: AppUserAllocation
            do { allocation = try AppUserAllocation(json: object) } catch { throw .badArgs(error.message) }
            try self.init(allocation, project: project)
        }

        /// The contract's allocation, its name checked against the project's rule.
        init(_ allocation: AppUserAllocation, project: ProjectID) throws(TaskFailure) {
            let expected = AppUser.expectedName(project: project, uid: allocation.uid)
            guard allocation.name == expected else {
                throw .badArgs("app_user.name must be \(expected) for project \(project) and uid \(allocation.uid), "
                    + "not \"\(String(allocation.name.prefix(40)))\"")
            }
            self.init(name: allocation.name, uid: allocation.uid)
        }
    }

    /// `dz_<project>` while it fits a 32-character user name, else `dz<uid>` (the zoomdb's rule).
    public static func expectedName(project: ProjectID, uid: UInt32) -> String {
        project.rawValue.utf8.count <= 29 ? "dz_" + project.rawValue : "dz" + String(uid)
    }

    /// The comment of a user dz made for `project`.
    static func comment(for project: ProjectID) -> String { "dz app " + project.rawValue }

    /// The project's user, made if missing; dz's own user when not running as root (then `allocated` may be nil).
    public static func ensure(for project: ProjectID, allocated: Allocation?, logger: Logger)
        async throws(DeployError) -> AppUser
    {
        guard getuid() == 0 else {
            let uid = getuid()
            return AppUser(name: UserDatabase.user(uid: uid)?.name ?? "uid\(uid)", uid: uid, gid: getgid(),
                           switches: false)
        }
        guard let allocated else {
            throw .user("the deploy names no app_user: a project's unix user is allocated by the coordinator and "
                + "carried by every deploy task (drop deploy tasks through a job, not by hand)")
        }
        let lock = try await hostLock()
        defer { lock.unlock() }
        let user = AppUser(name: allocated.name, uid: allocated.uid, gid: allocated.uid, switches: true)
        if let found = UserDatabase.user(named: user.name) {
            try check(found, is: user, project: project)
            return user
        }
        try checkFree(user, project: project)
        if UserDatabase.group(named: user.name) == nil {
            try await administer(["groupadd", "--gid", String(user.gid), user.name], user: user)
        }
        try await administer(
            ["useradd", "--uid", String(user.uid), "--gid", String(user.gid), "--no-user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", comment(for: project),
             user.name], user: user)
        guard let made = UserDatabase.user(named: user.name) else {
            throw .user("useradd \(user.name) succeeded but the user is not there")
        }
        try check(made, is: user, project: project)
        logger.info("app user created", metadata: ["user": "\(user.name)", "uid": "\(user.uid)",
                                                   "project": "\(project)"])
        return user
    }

    /// An existing user is taken only if it is the one dz made for the project.
    static func check(_ found: UserDatabase.User, is user: AppUser, project: ProjectID) throws(DeployError) {
        guard found.uid == user.uid, found.gid == user.gid, found.comment == comment(for: project) else {
            throw .user("a user \(found.name) exists on this host (uid \(found.uid), group \(found.gid), comment "
                + "\"\(String(found.comment.prefix(60)))\") but it is not the one dz made for project \(project) "
                + "(uid \(user.uid), group \(user.gid), comment \"\(comment(for: project))\"): dz never takes over "
                + "a user it did not make; remove or rename that user (userdel) and deploy again")
        }
    }

    /// Before making the user: its uid and gid must be nobody's, and outside the host's subordinate ids.
    static func checkFree(_ user: AppUser, project: ProjectID) throws(DeployError) {
        if let holder = UserDatabase.user(uid: user.uid) {
            throw .user("uid \(user.uid), which the zoomdb gave project \(project), belongs to user \(holder.name) on "
                + "this host: remove that user, or give the coordinator's app uids a range no local account uses")
        }
        if let group = UserDatabase.group(named: user.name), group.gid != user.gid {
            throw .user("a group \(user.name) exists on this host with gid \(group.gid), not \(user.gid): remove it "
                + "(groupdel) and deploy again")
        }
        if UserDatabase.group(named: user.name) == nil, let holder = UserDatabase.group(gid: user.gid) {
            throw .user("gid \(user.gid), which project \(project)'s group needs, belongs to group \(holder.name) on "
                + "this host: remove that group and deploy again")
        }
        for file in ["/etc/subuid", "/etc/subgid"] {
            if let owner = subordinateOwner(of: user.uid, in: file) {
                throw .user("uid \(user.uid) of project \(project) is among the subordinate ids \(file) gives "
                    + "\(owner): that user's containers could run as the app; change the ranges so they do not meet")
            }
        }
    }

    /// The user of `file` (`/etc/subuid` or `/etc/subgid`: `name:first:count` lines) whose range holds `id`.
    static func subordinateOwner(of id: UInt32, in file: String) -> String? {
        guard case .contents(let bytes, _)? = try? FileIO.read(file, limit: 1 << 20) else { return nil }
        return subordinateOwner(of: id, inText: String(decoding: bytes, as: UTF8.self))
    }

    static func subordinateOwner(of id: UInt32, inText text: String) -> String? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, let first = UInt64(fields[1]), let count = UInt64(fields[2]) else { continue }
            if UInt64(id) >= first, UInt64(id) < first + count { return String(fields[0]) }
        }
        return nil
    }

    /// The directory of host-wide locks, `/run/dz` (root's, mode 0700: nobody else can make it or a lock in it).
    static let lockDirectory = "/run/dz"

    /// The host-wide lock over making app users, `/run/dz/app-users.lock`: every agent on the host (whatever its
    /// data directory) takes it, so a check and the `useradd` after it are never interleaved with another's.
    static func hostLock(timeout: Double = 120) async throws(DeployError) -> FileLock {
        do {
            try DirectoryHandle.open("/run").makeDirectory("dz", mode: 0o700, owner: (0, 0))
        } catch {
            throw .filesystem("create", path: lockDirectory, error)
        }
        let path = lockDirectory + "/app-users.lock"
        let deadline = Timestamp.now() + timeout
        while true {
            do {
                return try FileLock(path: path)
            } catch .wouldBlock where Timestamp.now() < deadline {
                try? await Task.sleep(nanoseconds: 20_000_000)
            } catch {
                throw .filesystem("lock", path: path, error)
            }
        }
    }

    /// Runs `groupadd` or `useradd`, failing with its message.
    private static func administer(_ command: [String], user: AppUser) async throws(DeployError) {
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(command, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                                                      "LANG": "C"], timeout: 60)
        } catch {
            throw .user("cannot run \(command[0]) for \(user.name): \(error)")
        }
        guard outcome.succeeded else {
            throw .user("\(command[0]) \(user.name) (uid \(user.uid)) failed: \(outcome.tail(5))")
        }
    }
}
