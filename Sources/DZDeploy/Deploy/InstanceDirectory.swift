import DZSpool
import DZSystem
import Logging

/// The instance records of this host: `<root>/<project>/<instance>.json`, root's, directories mode 0700, files
/// 0600. A record is written whole to a hidden temporary file, fsynced, and renamed into place, so a reader sees
/// the old record or the new one.
///
/// Changes to a project's records are made under the project's lock, `<root>/.locks/<project>` (flock): the
/// deploy, stop and hook tasks wait for it; the supervisor skips a project whose lock is taken and looks again at
/// its next round. Choosing a port takes `<root>/.locks/ports`, so two deploys never pick the same one.
public struct InstanceDirectory: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// `<root>/<project>/<instance>.json`.
    public func path(project: String, instance: String) -> String { root + "/" + project + "/" + instance + ".json" }

    /// Creates `<root>`, `<root>/.locks` and `<root>/<project>` (mode 0700).
    func prepare(project: String? = nil) throws(DeployError) {
        for directory in [root, root + "/.locks"] + (project.map { [root + "/" + $0] } ?? []) {
            do {
                try FileSystem.makeDirectories(directory, mode: 0o700)
                try FileSystem.setMode(directory, 0o700)
            } catch {
                throw .filesystem("create", path: directory, error)
            }
        }
    }

    /// The record of `instance`, or nil when there is none.
    public func record(project: String, instance: String) throws(DeployError) -> InstanceRecord? {
        try readRecord(path(project: project, instance: instance), InstanceRecord.decode)
    }

    /// The record at `path` (a regular file of at most 1 MiB, root's), or nil when there is none.
    private func readRecord<Record>(_ path: String, _ decode: ([UInt8]) throws -> Record) throws(DeployError)
        -> Record?
    {
        let bytes: [UInt8]
        do {
            guard case .contents(let contents, _) = try FileIO.read(path, limit: 1 << 20) else { return nil }
            bytes = contents
        } catch .noSuchFileOrDirectory {
            return nil
        } catch {
            throw .filesystem("read", path: path, error)
        }
        do { return try decode(bytes) } catch {
            throw .filesystem("parse", path: path, .invalidArgument)
        }
    }

    /// Every readable record of `project` (every project when nil); unreadable ones are logged and skipped.
    public func records(project: String? = nil, logger: Logger? = nil) -> [InstanceRecord] {
        let projects = project.map { [$0] } ?? ((try? FileSystem.names(in: root)) ?? []).filter(ProjectID.isValid)
        var found: [InstanceRecord] = []
        for name in projects.sorted() {
            let names = (try? FileSystem.names(in: root + "/" + name)) ?? []
            for file in names.sorted() where file.hasSuffix(".json") && !file.hasPrefix(".") {
                do {
                    if let record = try record(project: name, instance: String(file.dropLast(5))) {
                        found.append(record)
                    }
                } catch {
                    logger?.warning("unreadable instance record", metadata: ["error": "\(error)"])
                }
            }
        }
        return found
    }

    /// Writes `record` atomically.
    public func save(_ record: InstanceRecord) throws(DeployError) {
        try prepare(project: record.project)
        let directory = root + "/" + record.project
        let path = path(project: record.project, instance: record.instance)
        let bytes: [UInt8]
        do { bytes = try record.encoded() } catch { throw .filesystem("encode", path: path, .invalidArgument) }
        do {
            try DirectoryHandle.open(directory).replaceFile(record.instance + ".json", bytes: bytes, mode: 0o600,
                                                           owner: nil)
        } catch {
            throw .filesystem("write", path: path, error)
        }
    }

    /// Removes the record of `instance` and its environment file; a missing one is not an error.
    public func remove(project: String, instance: String) throws(DeployError) {
        let path = path(project: project, instance: instance)
        try? FileSystem.unlink(root + "/" + project + "/" + instance + ".env")
        do {
            try FileSystem.unlink(path)
            try? FileSystem.syncDirectory(root + "/" + project)
        } catch .noSuchFileOrDirectory {
            return
        } catch {
            throw .filesystem("remove", path: path, error)
        }
    }

    /// The record of the installed bundle `bundle` of `project`, or nil when there is none.
    func installedBundle(project: String, bundle: String) throws(DeployError) -> InstalledBundle? {
        try readRecord(root + "/" + project + "/.bundles/" + bundle + ".json", InstalledBundle.decode)
    }

    /// Records an installed bundle (atomically, root's only).
    func save(_ installed: InstalledBundle) throws(DeployError) {
        try prepare(project: installed.project)
        let directory = root + "/" + installed.project + "/.bundles"
        do {
            try FileSystem.makeDirectories(directory, mode: 0o700)
            let bytes = try installed.encoded()
            try DirectoryHandle.open(directory).replaceFile(installed.bundle + ".json", bytes: bytes, mode: 0o600,
                                                           owner: nil)
        } catch let error as Errno {
            throw .filesystem("write", path: directory + "/" + installed.bundle + ".json", error)
        } catch {
            throw .filesystem("encode", path: directory + "/" + installed.bundle + ".json", .invalidArgument)
        }
    }

    /// The records of every installed bundle of `project` (unreadable ones left out).
    package func installedBundles(project: String) -> [InstalledBundle] {
        let directory = root + "/" + project + "/.bundles"
        let names = ((try? FileSystem.names(in: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            try? installedBundle(project: project, bundle: String(name.dropLast(".json".count)))
        }
    }

    /// Forgets an installed bundle; a missing record is not an error.
    package func removeInstalledBundle(project: String, bundle: String) {
        try? FileSystem.unlink(root + "/" + project + "/.bundles/" + bundle + ".json")
    }

    /// Writes the `passwd` and `group` the project's sandbox shows (`Sandbox.accountFiles`) into
    /// `<root>/<project>/.etc/` (root's directory, the files mode 0644 for the app to read once bound) and returns
    /// that directory.
    package func writeAccounts(project: String, user: AppUser) throws(DeployError) -> String {
        try prepare(project: project)
        let directory = root + "/" + project + "/.etc"
        let files = Sandbox.accountFiles(user: user, project: project)
        do {
            try FileSystem.makeDirectories(directory, mode: 0o700)
            let handle = try DirectoryHandle.open(directory)
            try handle.replaceFile("passwd", bytes: Array(files.passwd.utf8), mode: 0o644, owner: nil)
            try handle.replaceFile("group", bytes: Array(files.group.utf8), mode: 0o644, owner: nil)
        } catch {
            throw .filesystem("write", path: directory, error)
        }
        return directory
    }

    /// Changes the record of `instance` under the project's lock and returns it as saved; nil when there is no
    /// such record any more (`stop_instances` removed it).
    package func update(project: String, instance: String, _ change: (inout InstanceRecord) throws(DeployError) -> Void)
        async throws -> InstanceRecord?
    {
        let held = try await lock(project)
        defer { held.unlock() }
        guard var record = try record(project: project, instance: instance) else { return nil }
        try change(&record)
        try save(record)
        return record
    }

    /// Takes the lock `name` (a project id or `ports`), waiting up to `timeout` seconds.
    package func lock(_ name: String, timeout: Double = 120) async throws -> FileLock {
        try prepare()
        let path = root + "/.locks/" + name
        let deadline = Timestamp.now() + timeout
        while true {
            do {
                return try FileLock(path: path)
            } catch .wouldBlock where Timestamp.now() < deadline {
                try await Task.sleep(nanoseconds: 20_000_000)
            } catch {
                throw DeployError.filesystem("lock", path: path, error)
            }
        }
    }

    /// Takes the lock `name` if it is free now.
    func tryLock(_ name: String) -> FileLock? {
        try? prepare()
        return try? FileLock(path: root + "/.locks/" + name)
    }
}
