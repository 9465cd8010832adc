import DZBundle
import DZSource
import DZSystem
import Foundation

/// The sandbox every command that runs a project's code at build time runs in: `python -m venv`, pip and the build
/// backends it starts (`setup.py`, PEP 517 hooks), the settings
/// import check and collectstatic. Built on bubblewrap, which is required on a build host.
///
/// What the code sees:
/// - the system read-only: `/usr`, and `/bin`, `/sbin`, `/lib*` as the host has them (links into `/usr` on a
///   merged-usr system); nothing else of the host's root (no `/opt`, `/home`, `/root`, `/srv`, `/var`, `/run`);
/// - a minimal `/etc`: what the dynamic linker, Python, pip, TLS and name resolution read (`ld.so.*`,
///   `python3*`, `ssl/certs`, `pip.conf`, `resolv.conf`, `hosts`, `nsswitch.conf`, ...; see `etcEntries`), and
///   a `passwd` and `group` of its own that name only root, the build user and nobody. Never `/etc/dz`,
///   `/etc/shadow`, ssh keys or any other secret of the host;
/// - its own trees only, at fixed paths that say nothing of the host's layout: the build tree at `/dz/build`, the
///   virtualenv being made at `/dz/venv`, the project's pip cache at `/dz/pip-cache`, the project's finished
///   virtualenv read-only at `/dz/build/venv` (over the tree's empty `venv/`), the operator's local wheel directories (`PIP_FIND_LINKS`) read-only under
///   `/dz/wheels/`; and a private `/tmp` that is a directory of the build on disk (so that it counts towards the
///   build's size cap, never towards memory). Not the spool, not the zoomdb, not the data directory or checkouts of
///   other projects, not even its own checkout;
/// - fresh `/proc` (its own processes only: a pid namespace) and `/dev` (null, zero, random, ...; read-only, with
///   a 64 MiB `/dev/shm`), its own IPC and host name; the root and everything not listed read-only;
/// - the network only for pip (`Network.host`): the settings import check and collectstatic run with none.
///
/// Who it runs as is `BuildIdentity`: an unprivileged agent's own user in a user namespace (bwrap
/// `--unshare-user --disable-userns`), or, when the agent is root, root's bwrap sets the mounts up and `setpriv`
/// switches to the project's build user (no capability, no groups, `no_new_privs`) before the command starts.
/// Either way no process of the project outlives its step: when the command exits, bwrap's pid 1 exits and the
/// kernel kills what is left in the pid namespace (`--die-with-parent` does the same if the agent goes). So once a
/// step has returned, the trees it wrote are still, and the agent can read them (`lstat` walks, `O_NOFOLLOW`
/// opens) without a race. The agent writes into a project's trees only before the project's code first runs in
/// them.
///
/// A step that writes may be given size watches: every `watchInterval` seconds its trees are measured
/// (`TreeSize`), and the step is killed when one is past its bound.
public struct BuildSandbox: Sendable {
    public enum Network: Sendable, Equatable {
        /// A network namespace of its own, with only a loopback.
        case none
        /// The host's network (pip needs the package index).
        case host
    }

    /// A host directory shown inside the sandbox.
    public struct Mount: Sendable, Equatable {
        public var host: String
        public var inside: String
        public var writable: Bool

        public init(_ host: String, at inside: String, writable: Bool) {
            self.host = host
            self.inside = inside
            self.writable = writable
        }
    }

    /// A bound on trees a step writes, checked while it runs.
    struct SizeWatch: Sendable {
        var paths: [String]
        var maxBytes: Int64
        var maxEntries: Int
        /// What the trees are, for the message: "the build", "the static files".
        var what: String
        /// The agent option that raises the bound.
        var option: String
    }

    public let identity: BuildIdentity
    /// bubblewrap, from the system directories (never from `PATH`: a root agent runs it).
    let bwrap: String
    /// The directory with the sandbox's `passwd` and `group` for `identity`, written by the agent.
    let accounts: String
    var watchInterval: Double = 1
    /// Host directories shown read-only at the same path besides the system's: the installation of an
    /// interpreter the operator added outside `/usr` (`dz agent --pythons`).
    var interpreterInstallations: [String] = []

    /// Where the build tree is inside the sandbox.
    static let buildPath = "/dz/build"
    /// The `PATH` of the project's code: the system's own directories (never pyenv's or another user's).
    static let searchPath = "/usr/local/bin:/usr/bin:/bin"
    /// The name of the build user inside the sandbox.
    static let userName = "dzbuild"
    /// What of the host's `/etc` the sandbox shows (when the host has it), besides `python3*`.
    static let etcEntries = [
        "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl/certs", "ssl/openssl.cnf", "ca-certificates",
        "pip.conf", "mime.types", "localtime", "timezone", "os-release", "debian_version", "nsswitch.conf", "host.conf",
        "gai.conf", "hosts", "resolv.conf", "services", "protocols",
    ]

    /// The sandbox of a build run as `identity`; writes its account files under `<data>/sandbox/<uid>/`.
    static func prepare(identity: BuildIdentity, workspace: Workspace) throws(BuildError) -> BuildSandbox {
        guard let bwrap = Subprocess.locate("bwrap", path: "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin") else {
            throw BuildError("sandbox", "bubblewrap (bwrap) is not installed on this build host: a project's code "
                             + "only ever runs inside it (apt-get install bubblewrap)")
        }
        let accounts = workspace.root + "/sandbox/\(identity.uid)"
        let user = userName
        let nobody = identity.uid == 65534 ? "" : "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        let nogroup = identity.gid == 65534 ? "" : "nogroup:x:65534:\n"
        let files = [
            ("passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                + "\(user):x:\(identity.uid):\(identity.gid):dz build:/tmp:/usr/sbin/nologin\n" + nobody),
            ("group", "root:x:0:\n\(user):x:\(identity.gid):\n" + nogroup),
        ]
        do {
            try Workspace.makePrivateDirectory(workspace.root + "/sandbox")
            try Workspace.makePrivateDirectory(accounts)
            for (name, text) in files {
                let path = accounts + "/" + name
                if case .contents(let bytes, _)? = try? FileIO.read(path, limit: 4096), bytes == Array(text.utf8) {
                    continue
                }
                try FileIO.replace(path, bytes: Array(text.utf8), mode: 0o644, sync: false)
            }
        } catch {
            throw BuildError("filesystem", "cannot write the sandbox's account files in \(accounts): \(error)")
        }
        return BuildSandbox(identity: identity, bwrap: bwrap, accounts: accounts)
    }

    /// The environment of the project's code: nothing of the agent's (no credentials, no `DZ_*`), only what is
    /// given.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["PATH": Self.searchPath, "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
                           "USER": Self.userName, "LOGNAME": Self.userName]
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// The whole command line: bwrap with its mounts, then (for a root agent) setpriv, then `command`.
    package func arguments(_ command: [String], mounts: [Mount], temporary: String, network: Network,
                           workingDirectory: String) -> [String]
    {
        var arguments = [bwrap, "--die-with-parent", "--new-session"]
        if !identity.switchesUser { arguments += ["--unshare-user", "--disable-userns"] }
        arguments += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if network == .none { arguments.append("--unshare-net") }
        arguments += ["--hostname", "dz-build", "--ro-bind", "/usr", "/usr"]
        for name in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
            let path = "/" + name
            guard let status = try? FileSystem.linkStatus(path) else { continue }
            if status.kind == .symbolicLink, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                arguments += ["--symlink", target, path]
            } else if status.isDirectory {
                arguments += ["--ro-bind", path, path]
            }
        }
        // bwrap makes a destination's missing parents mode 0700 when it runs as root: the build user could not
        // pass them. So every parent is made first, 0755.
        var made: Set<String> = ["/", "/usr", "/tmp", "/proc", "/dev"]
        func parents(of destination: String) {
            var parent = ""
            for component in destination.split(separator: "/").dropLast() {
                parent += "/" + component
                if made.insert(parent).inserted { arguments += ["--perms", "0755", "--dir", parent] }
            }
        }
        parents(of: "/etc/passwd")
        for entry in Self.etcEntries + Self.pythonEtcEntries where FileSystem.exists("/etc/" + entry) {
            parents(of: "/etc/" + entry)
            arguments += ["--ro-bind-try", "/etc/" + entry, "/etc/" + entry]
        }
        arguments += ["--ro-bind", accounts + "/passwd", "/etc/passwd", "--ro-bind", accounts + "/group", "/etc/group",
                      "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", String(64 << 20),
                      "--tmpfs", "/dev/shm", "--remount-ro", "/dev", "--bind", temporary, "/tmp"]
        for installation in interpreterInstallations where !installation.hasPrefix("/usr/") && installation != "/usr" {
            parents(of: installation)
            arguments += ["--ro-bind", installation, installation]
        }
        for mount in mounts {
            parents(of: mount.inside)
            arguments += [mount.writable ? "--bind" : "--ro-bind", mount.host, mount.inside]
            // A later mount inside this one (the cached virtualenv at /dz/build/venv) needs no parent made: the
            // mount is it.
            made.insert(mount.inside)
        }
        arguments += ["--remount-ro", "/", "--chdir", workingDirectory, "--"]
        if identity.switchesUser {
            arguments += ["/usr/bin/setpriv", "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--clear-groups",
                          "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
        }
        return arguments + command
    }

    /// `/etc/python3*`: Debian's `sitecustomize.py` is a link into `/etc/python3.X`.
    static var pythonEtcEntries: [String] {
        ((try? FileSystem.names(in: "/etc")) ?? []).filter { $0.hasPrefix("python3") }.sorted()
    }

    /// Runs `command` in the sandbox and returns how it ended; throws only when it could not run, when bwrap could
    /// not set the sandbox up, or when a watched tree grew past its bound (the step is killed then).
    func run(_ command: [String], step: String, mounts: [Mount], temporary: String, network: Network = .none,
             workingDirectory: String = BuildSandbox.buildPath, environment extra: [String: String] = [:],
             timeout: Double, watch: [SizeWatch] = []) async throws(BuildError) -> Subprocess.Outcome
    {
        let arguments = arguments(command, mounts: mounts, temporary: temporary, network: network,
                                  workingDirectory: workingDirectory)
        let environment = environment(extra)
        let finished = await withTaskGroup(of: Finished.self) { group in
            group.addTask {
                do {
                    return .ran(try await Subprocess.run(arguments, environment: environment, workingDirectory: "/",
                                                         timeout: timeout, kept: .tail))
                } catch {
                    return .failed(BuildError("sandbox", "\(step): \(error)"))
                }
            }
            if !watch.isEmpty {
                group.addTask { [watchInterval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: UInt64(watchInterval * 1e9))
                        if Task.isCancelled { break }
                        if let exceeded = await Self.firstExceeded(watch) { return .exceeded(exceeded) }
                    }
                    return .watchEnded
                }
            }
            // The first to finish ends the other: the command's end stops the watch, a watch past its bound
            // cancels the command (Subprocess kills its process group, and with it the sandbox).
            var first: Finished?
            for await next in group {
                if case .watchEnded = next { continue }
                if first == nil { first = next }
                group.cancelAll()
            }
            return first ?? .failed(BuildError("sandbox", "\(step): did not run"))
        }
        let outcome: Subprocess.Outcome
        switch finished {
        case .ran(let ran): outcome = ran
        case .failed(let error), .exceeded(let error): throw error
        case .watchEnded: throw BuildError("sandbox", "\(step): did not run")
        }
        if outcome.ending == .exited(1), outcome.stderrText.hasPrefix("bwrap: ") {
            throw BuildError("sandbox", "\(step): bubblewrap could not set the sandbox up: " + outcome.tail(5))
        }
        return outcome
    }

    /// How a step's command or its size watch ended.
    private enum Finished: Sendable {
        case ran(Subprocess.Outcome)
        case failed(BuildError)
        case exceeded(BuildError)
        case watchEnded
    }

    /// The first watch whose trees are past their bound, as the error that fails the build.
    static func firstExceeded(_ watches: [SizeWatch]) async -> BuildError? {
        let found = try? await BlockingCall.run { () -> BuildError? in
            for watch in watches {
                let size = TreeSize.measure(watch.paths, stopAfter: watch.maxBytes, entries: watch.maxEntries)
                if size.exceeds(maxBytes: watch.maxBytes, maxEntries: watch.maxEntries) {
                    return BuildLimits.exceeded(watch.what, size: size, maxBytes: watch.maxBytes,
                                                maxEntries: watch.maxEntries, option: watch.option)
                }
            }
            return nil
        }
        return found ?? nil
    }

    /// Gives `paths` (and with `recursive` everything under them) to the build user, for a root agent's builds (an
    /// unprivileged agent's build user is itself). Only for trees no project code has run in yet: `chown -R` never
    /// follows a link, but it walks by name.
    func handOver(_ paths: [String], recursive: Bool) async throws(BuildError) {
        guard identity.switchesUser, !paths.isEmpty else { return }
        let outcome = try? await Subprocess.run(
            ["/bin/chown"] + (recursive ? ["-R"] : []) + ["--no-dereference", "\(identity.uid):\(identity.gid)", "--"]
                + paths,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: 600)
        guard outcome?.succeeded == true else {
            throw BuildError("filesystem", "cannot give \(paths.joined(separator: ", ")) to the build user "
                             + "\(identity.uid): " + (outcome?.tail(3) ?? "chown did not run"))
        }
    }
}
