import Foundation
import DZSystem
import Logging

/// Bundles as files under a root directory (`file:///var/lib/dz/bundles`), for a single host or a shared mount.
///
/// On disk: the object `<key>` is the file `<root>/<key>`, and its SHA-256 is the file `<root>/<key>.sha256`
/// (64 hex digits and a newline). Both are written as hidden temporary files in the same directory
/// (`.<name>.tmp-<random>`), fsynced, and renamed into place, the object first; then the directory is fsynced. A
/// reader therefore sees a whole object or none, and a crash leaves at worst hidden temporary files, which `list`
/// ignores. An object whose checksum file is missing is listed with a nil `sha256`. A file put from the store's own
/// file system, its writer's and of the group of the store's directory, becomes the object as a hard link instead
/// of a copy (see `link`).
///
/// Bundles hold tenants' code: objects are mode 0640 and the directories this store makes 0750, so that only the
/// writer (the build agent's user) and the store's group read them. A store shared with appservers and proxies
/// that do not run as root: make its root directory the build user's, in a group those agents' users are in,
/// with the setgid bit (`chown dz:dz DIR; chmod 2750 DIR`): new directories and objects inherit the group. A
/// fetched copy (`get`) is mode 0600, the fetching process's own, and not fsynced.
public struct DirectoryStore: BundleStore {
    public let root: String
    let logger: Logger

    /// A store under `root`, an absolute directory created on the first `put`.
    public init(root: String, logger: Logger = Logger(label: "dz.storage")) {
        var root = Substring(root)
        while root.count > 1, root.hasSuffix("/") { root = root.dropLast() }
        self.root = String(root)
        self.logger = logger
    }

    public func put(file localPath: String, key: String) async throws -> StoredObject {
        try StorageKey.validate(key)
        let target = path(of: key)
        let object = try await BlockingCall.run { [self] () throws(BundleStoreError) -> StoredObject in
            let directory = Self.parent(of: target)
            try fileSystem("mkdir", directory) { () throws(Errno) in try FileSystem.makeDirectories(directory, mode: 0o750) }
            let source = try fileSystem("open", localPath) { () throws(Errno) in try OpenFile.openForReading(localPath) }
            _ = try fileSystem("read", localPath) { () throws(Errno) in try source.regularFileSize() }
            let temporary = Self.temporaryName(beside: target, kind: "tmp")
            let checksumTemporary = Self.temporaryName(beside: target + ".sha256", kind: "tmp")
            var committed = false
            defer {
                if !committed {
                    try? FileSystem.unlink(temporary)
                    try? FileSystem.unlink(checksumTemporary)
                }
            }
            let size: Int64, sha256: String
            if let linked = try Self.link(source, as: temporary, in: directory) {
                (size, sha256) = linked
            } else {
                (size, sha256) = try Self.copy(from: source, to: temporary, mode: 0o640, sync: true)
            }
            try fileSystem("write", checksumTemporary) { () throws(Errno) in
                let file = try OpenFile.create(checksumTemporary, mode: 0o640)
                try file.write(Array((sha256 + "\n").utf8))
                try file.sync()
                try file.close()
            }
            try fileSystem("rename", target) { () throws(Errno) in
                try FileSystem.rename(temporary, target)
                try FileSystem.rename(checksumTemporary, target + ".sha256")
            }
            committed = true
            try fileSystem("fsync", directory) { () throws(Errno) in try FileSystem.syncDirectory(directory) }
            return StoredObject(key: key, size: size, sha256: sha256, url: url(of: key))
        }
        logger.debug("stored bundle", metadata: ["key": "\(key)", "size": "\(object.size)", "root": "\(root)"])
        return object
    }

    public func get(key: String, to localPath: String, expectedSHA256: String?) async throws -> StoredObject {
        try StorageKey.validate(key)
        let source = path(of: key)
        return try await BlockingCall.run { [self] () throws(BundleStoreError) -> StoredObject in
            let file: OpenFile
            do throws(Errno) {
                file = try OpenFile.openForReading(source)
                _ = try file.regularFileSize()
            } catch .noSuchFileOrDirectory, .isDirectory, .invalidArgument {
                throw .notFound(key: key)
            } catch {
                throw .filesystem(operation: "open", path: source, error)
            }
            let expected = expectedSHA256?.lowercased() ?? Self.recordedChecksum(of: source)
            let temporary = Self.temporaryName(beside: localPath, kind: "part")
            var committed = false
            defer { if !committed { try? FileSystem.unlink(temporary) } }
            let (size, actual) = try Self.copy(from: file, to: temporary, mode: 0o600, sync: false)
            if let expected, expected != actual {
                throw .checksumMismatch(key: key, expected: expected, actual: actual)
            }
            try fileSystem("rename", localPath) { () throws(Errno) in try FileSystem.rename(temporary, localPath) }
            committed = true
            return StoredObject(key: key, size: size, sha256: actual, url: url(of: key))
        }
    }

    public func head(key: String) async throws -> StoredObject? {
        try StorageKey.validate(key)
        let path = path(of: key)
        let status: FileStatus
        do throws(Errno) {
            status = try FileSystem.status(path)
        } catch .noSuchFileOrDirectory, .notDirectory {
            return nil
        } catch {
            throw BundleStoreError.filesystem(operation: "stat", path: path, error)
        }
        guard status.isRegular else { return nil }
        return StoredObject(key: key, size: status.size, sha256: Self.recordedChecksum(of: path), url: url(of: key))
    }

    public func list(prefix: String) async throws -> [StoredObject] {
        try StorageKey.validatePrefix(prefix)
        // Walk only the deepest directory the prefix names, then filter by the whole prefix.
        let directoryPart = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        return try await BlockingCall.run { [self] () throws(BundleStoreError) -> [StoredObject] in
            var found: [StoredObject] = []
            try walk(directoryPart, into: &found, matching: prefix)
            return found.sorted { $0.key < $1.key }
        }
    }

    public func delete(key: String) async throws {
        try StorageKey.validate(key)
        let path = path(of: key)
        for name in [path, path + ".sha256"] {
            do throws(Errno) {
                try FileSystem.unlink(name)
            } catch .noSuchFileOrDirectory, .notDirectory {
                logger.debug("nothing to delete", metadata: ["path": "\(name)"])
            } catch {
                throw BundleStoreError.filesystem(operation: "unlink", path: name, error)
            }
        }
    }

    func path(of key: String) -> String { root == "/" ? "/" + key : root + "/" + key }

    func url(of key: String) -> String { "file://" + path(of: key) }

    /// Adds every object under the key directory `relative` whose key starts with `prefix`.
    private func walk(_ relative: String, into found: inout [StoredObject], matching prefix: String)
        throws(BundleStoreError)
    {
        let directory = relative.isEmpty ? root : path(of: relative)
        let names: [String]
        do throws(Errno) {
            names = try FileSystem.names(in: directory)
        } catch .noSuchFileOrDirectory, .notDirectory {
            return
        } catch {
            throw .filesystem(operation: "readdir", path: directory, error)
        }
        for name in names where !name.hasPrefix(".") && !name.hasSuffix(".sha256") {
            let key = relative.isEmpty ? name : relative + "/" + name
            // Only descend where keys that start with `prefix` can be.
            guard key.hasPrefix(prefix) || prefix.hasPrefix(key + "/") else { continue }
            guard let status = try? FileSystem.linkStatus(path(of: key)) else { continue }
            if status.isDirectory {
                try walk(key, into: &found, matching: prefix)
            } else if status.isRegular, key.hasPrefix(prefix) {
                found.append(StoredObject(key: key, size: status.size,
                                          sha256: Self.recordedChecksum(of: path(of: key)), url: url(of: key)))
            }
        }
    }

    /// Gives `source` the second name `temporary` in the store instead of copying it, when it is on the store's
    /// file system, this process's own and of the group of the store's directory (so that the store's readers can
    /// read it): the file becomes mode 0640 under both names. Nil when it cannot be linked: then it is copied.
    ///
    /// A bundle's archive and manifest are written once under a temporary name and renamed into place, never
    /// changed in place afterwards (their build host only removes them): one file under two names is as good as two
    /// copies, without the seconds a copy and its fsync of a large bundle take on a loaded disk.
    private static func link(_ source: OpenFile, as temporary: String, in directory: String)
        throws(BundleStoreError) -> (Int64, String)?
    {
        // The open file's own status (what is hashed below), not its path's.
        guard let file = try? source.status(), file.isRegular,
              file.owner == Host.effectiveUserID, let parent = try? FileSystem.status(directory),
              parent.group == file.group, parent.device == file.device,
              (try? FileSystem.link(source.path, temporary)) != nil
        else { return nil }
        // The open file under the new name, or nothing: a path replaced since it was opened is refused.
        guard let linked = try? FileSystem.linkStatus(temporary), linked.inode == file.inode,
              linked.device == file.device, (try? FileSystem.setMode(temporary, 0o640)) != nil
        else {
            try? FileSystem.unlink(temporary)
            return nil
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var digest = SHA256Digest()
        var size: Int64 = 0
        while true {
            let count = try fileSystem("read", source.path) { () throws(Errno) in try source.read(into: buffer) }
            if count == 0 { break }
            digest.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            size += Int64(count)
        }
        // Its writer synced it already (then this costs nothing); the link is synced with the directory.
        try fileSystem("fsync", source.path) { () throws(Errno) in try source.sync() }
        return (size, digest.finalize())
    }

    /// Copies `source` into the new file `destination` (created with `mode`), hashing on the way; returns size and
    /// SHA-256. `sync`: fsynced before it is closed (a stored object; a fetched copy is a working file that its
    /// fetcher extracts and removes, fetched again after a crash).
    private static func copy(from source: OpenFile, to destination: String, mode: mode_t, sync: Bool)
        throws(BundleStoreError) -> (Int64, String)
    {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let output = try fileSystem("create", destination) { () throws(Errno) in
            try OpenFile.create(destination, mode: mode)
        }
        var digest = SHA256Digest()
        var size: Int64 = 0
        while true {
            let count = try fileSystem("read", source.path) { () throws(Errno) in try source.read(into: buffer) }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            digest.update(chunk)
            try fileSystem("write", destination) { () throws(Errno) in try output.write(chunk) }
            size += Int64(count)
        }
        try fileSystem(sync ? "fsync" : "close", destination) { () throws(Errno) in
            if sync { try output.sync() }
            try output.close()
        }
        return (size, digest.finalize())
    }

    /// The SHA-256 in `<path>.sha256`, or nil when it is missing or malformed.
    static func recordedChecksum(of path: String) -> String? {
        guard case .contents(let bytes, _)? = try? FileIO.read(path + ".sha256", limit: 256) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return SHA256Digest.isHex(text) ? text : nil
    }

    /// `<directory>/.<name>.<kind>-<random>`: hidden, in the same directory so that the rename is atomic.
    static func temporaryName(beside path: String, kind: String) -> String {
        let directory = parent(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return (directory == "/" ? "" : directory) + "/.\(name).\(kind)-\(random)"
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Runs a file system step, turning its `Errno` into `BundleStoreError.filesystem`.
func fileSystem<T>(_ operation: String, _ path: String, _ body: () throws(Errno) -> T) throws(BundleStoreError) -> T {
    do {
        return try body()
    } catch {
        throw .filesystem(operation: operation, path: path, error)
    }
}
