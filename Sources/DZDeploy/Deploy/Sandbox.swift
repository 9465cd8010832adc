import DZSystem
import Foundation

/// How a command of an app is run: as the app's user, and with bubblewrap in a private mount namespace that shows
/// the system read-only (`/usr`, `/lib`, `/lib64`, `/bin`), of `/etc` only what Python, gunicorn, TLS and name
/// resolution read (`etcEntries`; never `/etc/dz`, `/etc/shadow` or any other configuration) with a `passwd` and a
/// `group` that name root, nobody and the app alone, the bundle's Python installation read-only, the app's own
/// directory writable, a private `/tmp`, fresh `/proc` and `/dev`, and nothing else: not the spool, not other
/// apps, not dz's data directory.
///
/// The network and the process ids are shared with the host, and bwrap is not tied to its parent: gunicorn
/// daemonises out of it, the proxy reaches it on the host's address, and the pid in its pid file is the host's.
/// Parent directories of what is bound appear as empty mode-0711 directories, so the app's user can reach its
/// own directory without listing anything.
public struct Sandbox: Sendable, Equatable {
    public let isolation: AppServerSettings.Isolation
    public let user: AppUser
    /// The app's directory, bound read-write at its own path.
    public let appDirectory: String
    /// Host directories shown read-only at their own paths (the Python installation the venv links to).
    public let readOnly: [String]
    /// Host directories bound read-write at another path: `(host path, path the app sees)`.
    public let writable: [Binding]
    /// Symbolic links made inside the sandbox, `destination` pointing at `source` (the bundle's venv where its
    /// scripts' `#!` lines look). A link, not a bind: the app's processes resolve it, as the app's user, while root's
    /// bwrap would follow whatever the app put at a bind's source (its own bundle is its to change).
    public let links: [Binding]
    /// A directory (root's) holding the `passwd` and `group` the app sees, or nil for none.
    public let accounts: String?

    public struct Binding: Sendable, Equatable {
        public var source: String
        public var destination: String

        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    static let systemDirectories = ["/usr", "/lib", "/lib64", "/bin"]

    /// What the sandbox shows of `/etc`, each read-only and only if the host has it: name resolution (`hosts`,
    /// `resolv.conf`, `nsswitch.conf`, `host.conf`, `gai.conf`, `services`, `protocols`, `networks`), TLS (`ssl/certs`,
    /// `ssl/openssl.cnf`, `ca-certificates`, `pki`), the dynamic loader's cache and configuration, time zone, MIME
    /// types and `magic`, locale aliases, the system's identity, Debian's `alternatives` links and Python's own
    /// `python3*` directories (sitecustomize).
    static let etcEntries = [
        "hosts", "resolv.conf", "nsswitch.conf", "host.conf", "gai.conf", "services", "protocols", "networks",
        "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "pki", "crypto-policies",
        "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "mime.types", "magic", "magic.mime",
        "locale.alias", "os-release", "debian_version", "alternatives",
    ]

    /// `isolation` must be resolved already (`.bubblewrap` or `.none`).
    public init(isolation: AppServerSettings.Isolation, user: AppUser, appDirectory: String, readOnly: [String] = [],
                writable: [Binding] = [], links: [Binding] = [], accounts: String? = nil)
    {
        self.isolation = isolation == .auto ? .none : isolation
        self.user = user
        self.appDirectory = appDirectory
        self.readOnly = readOnly.filter { !Self.isUnderSystemDirectory($0) }
        self.writable = writable
        self.links = links
        self.accounts = accounts
    }

    /// The `/etc` entries of this host the sandbox shows: `etcEntries` and the `python3*` directories.
    static func etcShown() -> [String] {
        let python = ((try? FileSystem.names(in: "/etc")) ?? []).filter { $0.hasPrefix("python3") }.sorted()
        return etcEntries + python
    }

    /// `command` (its first element an absolute path) wrapped to run as the app, in `workingDirectory`.
    public func command(_ command: [String], workingDirectory: String? = nil) -> [String] {
        var prefix: [String] = []
        if isolation == .bubblewrap {
            prefix = [Subprocess.locate("bwrap") ?? "/usr/bin/bwrap"]
            for directory in Self.systemDirectories where FileSystem.exists(directory) {
                prefix += ["--ro-bind", directory, directory]
            }
            // /etc is made in the sandbox and given only what apps read; `-try`, so that a relaunch still works
            // after an entry left the host.
            prefix += ["--perms", "0755", "--dir", "/etc"]
            var etcParents = Set<String>()
            for entry in Self.etcShown() {
                // bwrap would make a missing parent mode 0700, out of the app's reach.
                if let slash = entry.lastIndex(of: "/"), etcParents.insert(String(entry[..<slash])).inserted {
                    prefix += ["--perms", "0755", "--dir", "/etc/" + entry[..<slash]]
                }
                prefix += ["--ro-bind-try", "/etc/" + entry, "/etc/" + entry]
            }
            if let accounts {
                prefix += ["--ro-bind", accounts + "/passwd", "/etc/passwd", "--ro-bind", accounts + "/group",
                           "/etc/group"]
            }
            // /tmp first: binds below it come after, or the tmpfs would hide them.
            prefix += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--unshare-ipc"]
            var made = Set(Self.systemDirectories + ["/", "/proc", "/dev", "/tmp", "/etc"])
            func parents(of path: String) {
                var current = ""
                for component in path.split(separator: "/").dropLast() {
                    current += "/" + component
                    if made.insert(current).inserted, !Self.isUnderSystemDirectory(current) {
                        prefix += ["--perms", "0711", "--dir", current]
                    }
                }
            }
            for directory in readOnly {
                parents(of: directory)
                prefix += ["--ro-bind", directory, directory]
                made.insert(directory)
            }
            parents(of: appDirectory)
            prefix += ["--bind", appDirectory, appDirectory]
            made.insert(appDirectory)
            for binding in writable {
                parents(of: binding.destination)
                prefix += ["--bind", binding.source, binding.destination]
                made.insert(binding.destination)
            }
            for link in links {
                parents(of: link.destination)
                prefix += ["--symlink", link.source, link.destination]
                made.insert(link.destination)
            }
            if let workingDirectory { prefix += ["--chdir", workingDirectory] }
            prefix.append("--")
        }
        if user.switches {
            prefix += ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups",
                       "--no-new-privs", "--"]
        }
        return prefix + command
    }

    /// Checks what the app's user needs outside a sandbox: every directory above the app's directory and the
    /// Python installation must be searchable by anyone.
    package func checkReachable(interpreter: String) throws(DeployError) {
        guard isolation == .none, user.switches else { return }
        for path in [appDirectory, interpreter] where !DirectoryHandle.isReachableByAnyone(path) {
            throw .launch("\(path) is in a directory that the app's user \(user.name) cannot enter; run with "
                + "--isolation bubblewrap, or make its parent directories searchable (chmod o+x)")
        }
    }

    /// The `passwd` and `group` an app sees: root, nobody and the app's own user and group, nobody else (other
    /// tenants' user names stay unknown inside).
    static func accountFiles(user: AppUser, project: String) -> (passwd: String, group: String) {
        var passwd = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        var group = "root:x:0:\n"
        if user.uid != 0 {
            passwd += "\(user.name):x:\(user.uid):\(user.gid):dz app \(project):/nonexistent:/usr/sbin/nologin\n"
        }
        if user.gid != 0 { group += "\(user.name):x:\(user.gid):\n" }
        if user.uid != 65534 { passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" }
        if user.gid != 65534 { group += "nogroup:x:65534:\n" }
        return (passwd, group)
    }

    static func isUnderSystemDirectory(_ path: String) -> Bool {
        systemDirectories.contains { path == $0 || path.hasPrefix($0 + "/") }
    }
}
