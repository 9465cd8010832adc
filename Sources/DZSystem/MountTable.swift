/// The mounts of this process's mount namespace, from `/proc/self/mountinfo`: which file system a path is on, and
/// with which options.
public struct MountTable: Sendable {
    /// One mount.
    public struct Mount: Sendable, Equatable {
        public var mountPoint: String
        /// `ext4`, `nfs4`, `fuse.bindfs`, ...
        public var type: String
        public var source: String
        /// The per-mount options and the file system's own (`hard`, `lookupcache=positive`, `acdirmax=60`, ...).
        public var options: [String: String]

        /// Whether it is a network or user-space file system that other hosts may write through.
        public var isNetworked: Bool {
            type.hasPrefix("nfs") || type.hasPrefix("fuse") || ["cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs",
                                                               "lustre", "gfs2", "ocfs2", "afs"].contains(type)
        }

        public var isNFS: Bool { type == "nfs" || type == "nfs4" }

        public init(mountPoint: String, type: String, source: String, options: [String: String]) {
            self.mountPoint = mountPoint
            self.type = type
            self.source = source
            self.options = options
        }
    }

    public let mounts: [Mount]

    public init(mounts: [Mount]) { self.mounts = mounts }

    /// Parses mountinfo's text: `id parent major:minor root mountpoint options [optional...] - type source super`.
    public init(mountinfo text: String) {
        var mounts: [Mount] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 3 else { continue }
            var options: [String: String] = [:]
            for option in (fields[5] + "," + (fields.count > dash + 3 ? fields[dash + 3] : "")).split(separator: ",") {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                options[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            mounts.append(Mount(mountPoint: Self.unescape(fields[4]), type: fields[dash + 1],
                                source: Self.unescape(fields[dash + 2]), options: options))
        }
        self.mounts = mounts
    }

    /// This process's mounts now.
    public static func current() throws(Errno) -> MountTable {
        MountTable(mountinfo: String(decoding: try FileIO.readAll("/proc/self/mountinfo"), as: UTF8.self))
    }

    /// The mount `path` (absolute, symbolic links resolved) is on: the last mounted of the longest matching
    /// mount points.
    public func mount(of path: String) -> Mount? {
        var best: Mount?
        for mount in mounts {
            let point = mount.mountPoint
            let matches = point == "/" || path == point || path.hasPrefix(point.hasSuffix("/") ? point : point + "/")
            if matches, point.count >= (best?.mountPoint.count ?? -1) { best = mount }
        }
        return best
    }

    /// mountinfo writes space, tab, newline and backslash as `\040` and so on.
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count,
               let value = UInt8(String(decoding: source[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
