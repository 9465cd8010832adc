#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem

/// Who a project's code runs as on a build host: never root.
///
/// - An unprivileged agent (the intended set-up: the build role runs as a `dz` user) runs project code as its own
///   user, inside a user namespace that bubblewrap makes: no capability, no view of anything the sandbox does not
///   show, and no way to make further user namespaces. The agent's other files are out of reach because they are
///   not in the sandbox, not because of their owner.
/// - An agent running as root runs project code as the project's own build user: a uid allocated for the project
///   on this host (`BuildUsers`), with no capability, no supplementary group and `no_new_privs`, inside a
///   sandbox that root's bubblewrap sets up. Each project's trees are that uid's, so that even code that got out of
///   its sandbox could touch no other project's files.
public enum BuildIdentity: Sendable, Equatable {
    case agentUser(uid: UInt32, gid: UInt32)
    case projectUser(uid: UInt32, gid: UInt32)

    public var uid: UInt32 {
        switch self {
        case .agentUser(let uid, _), .projectUser(let uid, _): uid
        }
    }

    public var gid: UInt32 {
        switch self {
        case .agentUser(_, let gid), .projectUser(_, let gid): gid
        }
    }

    /// Whether the agent is root and switches to the project's user (else the sandbox is a user namespace).
    public var switchesUser: Bool {
        if case .projectUser = self { return true }
        return false
    }

    /// The identity for `project`'s build on this host: the agent's own user when it is not root, else the
    /// project's build user from `users` (allocated on its first build).
    static func forProject(_ project: ProjectID, users: BuildUsers) throws(BuildError) -> BuildIdentity {
        guard geteuid() == 0 else { return .agentUser(uid: getuid(), gid: getgid()) }
        let uid = try users.uid(for: project)
        return .projectUser(uid: uid, gid: uid)
    }
}
