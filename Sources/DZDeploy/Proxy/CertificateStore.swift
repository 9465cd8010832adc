#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
import DZBundle

/// The certificates this proxy serves, one directory per project and host name:
///
/// ```
/// <root>/<project>/<hostname>/cert.pem   the certificate and its chain (0600)
/// <root>/<project>/<hostname>/key.pem    its private key (0600)
/// <root>/<project>/<hostname>/acme       present when ACME obtained it (renew_certs renews those)
/// <root>/<project>/.staging-<random>/    a certificate being checked (0700)
/// <root>/<project>/.previous-<hostname>/ the pair the last installation replaced
/// ```
///
/// Every directory is 0700 and every file 0600, owned by the proxy agent's user: only it and nginx's master (root,
/// which reads certificates before it drops privileges) can read a key. A pair becomes live by one rename of its
/// directory, so nginx never reads a certificate with another's key. Callers hold `SitesLock` to change it.
public struct CertificateStore: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// A checked-or-to-be-checked pair in a private staging directory.
    struct Staged {
        let directory: String
        var certificatePath: String { directory + "/cert.pem" }
        var keyPath: String { directory + "/key.pem" }

        func discard() { SourceTree.remove(directory) }
    }

    /// How to undo an `install`.
    struct Installed {
        let live: String
        let previous: String?
    }

    func projectDirectory(_ project: ProjectID) -> String { root + "/" + project.rawValue }

    func directory(_ project: ProjectID, _ hostname: Hostname) -> String {
        projectDirectory(project) + "/" + hostname.rawValue
    }

    /// Writes `certificate` and `key` into a new staging directory of `project` (0700, files 0600, fsynced).
    func stage(project: ProjectID, certificate: [UInt8], key: [UInt8], acme: Bool) throws(ProxyError) -> Staged {
        let projectDirectory = projectDirectory(project)
        let staging = projectDirectory + "/.staging-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try Self.step("mkdir", staging) { () throws(Errno) in
            // The data directory above stays enterable (nginx's workers read the static files and the ACME
            // webroot in it); only the certificates' own directories are closed.
            try FileSystem.makeDirectories(root.parentDirectory, mode: 0o755)
            for directory in [root, projectDirectory] where !FileSystem.exists(directory) {
                try FileSystem.makeDirectories(directory, mode: 0o700)
                try FileSystem.setMode(directory, 0o700)
            }
            try FileSystem.makeDirectory(staging, mode: 0o700, exactMode: true)
        }
        let staged = Staged(directory: staging)
        do throws(ProxyError) {
            try Self.step("write", staging) { () throws(Errno) in
                try FileIO.create(staged.certificatePath, bytes: certificate, mode: 0o600, exactMode: true, sync: true)
                try FileIO.create(staged.keyPath, bytes: key, mode: 0o600, exactMode: true, sync: true)
                if acme { try FileIO.create(staging + "/acme", bytes: [], mode: 0o600, exactMode: true, sync: true) }
            }
            try? FileSystem.syncDirectory(staging)
        } catch {
            staged.discard()
            throw error
        }
        return staged
    }

    /// Makes `staged` the live pair of `hostname`, keeping the one it replaces as `.previous-<hostname>`.
    func install(_ staged: Staged, project: ProjectID, hostname: Hostname) throws(ProxyError) -> Installed {
        let live = directory(project, hostname)
        let previous = projectDirectory(project) + "/.previous-" + hostname.rawValue
        var kept: String?
        if FileSystem.exists(live) {
            SourceTree.remove(previous)
            try Self.step("rename", live) { () throws(Errno) in try FileSystem.rename(live, previous) }
            kept = previous
        }
        do throws(ProxyError) {
            try Self.step("rename", staged.directory) { () throws(Errno) in
                try FileSystem.renameNoReplace(staged.directory, live)
            }
        } catch {
            if let kept { try? FileSystem.rename(kept, live) }
            throw error
        }
        try? FileSystem.syncDirectory(projectDirectory(project))
        return Installed(live: live, previous: kept)
    }

    /// Undoes `install`: the replaced pair goes back, or the new one is removed when there was none.
    func restore(_ installed: Installed) {
        let aside = installed.live + ".refused-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        if (try? FileSystem.rename(installed.live, aside)) != nil { SourceTree.remove(aside) }
        if let previous = installed.previous { try? FileSystem.rename(previous, installed.live) }
        try? FileSystem.syncDirectory((installed.live as String).parentDirectory)
    }

    /// The live pairs of `project` for the names in `hostnames`, as a site serves them.
    func certificates(of project: ProjectID, for hostnames: [Hostname]) -> [SiteCertificate] {
        hostnames.compactMap { hostname in
            let directory = directory(project, hostname)
            guard FileSystem.exists(directory + "/cert.pem"), FileSystem.exists(directory + "/key.pem") else { return nil }
            return try? SiteCertificate(hostname: hostname, certificatePath: directory + "/cert.pem",
                                        keyPath: directory + "/key.pem")
        }
    }

    /// Every live pair ACME obtained: project, host name and certificate path.
    package func acmeCertificates() -> [(project: ProjectID, hostname: Hostname, certificatePath: String)] {
        var found: [(ProjectID, Hostname, String)] = []
        for projectName in ((try? FileSystem.names(in: root)) ?? []).sorted() where !projectName.hasPrefix(".") {
            guard let project = try? ProjectID(projectName) else { continue }
            for name in ((try? FileSystem.names(in: projectDirectory(project))) ?? []).sorted()
                where !name.hasPrefix(".")
            {
                guard let hostname = try? Hostname(name) else { continue }
                let directory = directory(project, hostname)
                if FileSystem.exists(directory + "/acme") { found.append((project, hostname, directory + "/cert.pem")) }
            }
        }
        return found
    }

    static func step(_ operation: String, _ path: String, _ body: () throws(Errno) -> Void) throws(ProxyError) {
        do { try body() } catch { throw .filesystem(operation: operation, path: path, error) }
    }
}

extension String {
    /// The path without its last component.
    fileprivate var parentDirectory: String {
        guard let slash = lastIndex(of: "/"), slash != startIndex else { return "/" }
        return String(self[..<slash])
    }
}
