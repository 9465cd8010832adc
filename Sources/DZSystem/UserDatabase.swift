#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Look-ups in the host's user and group database (`/etc/passwd`, `/etc/group` and whatever NSS adds).
public enum UserDatabase {
    /// A user as the database holds it.
    public struct User: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        /// The comment (GECOS) field.
        public var comment: String
        public var home: String
        public var shell: String
    }

    /// A group as the database holds it.
    public struct Group: Sendable, Equatable {
        public var name: String
        public var gid: UInt32
        public var members: [String]
    }

    /// The user `name`, or nil.
    ///
    /// The corresponding C function is `getpwnam_r`.
    public static func user(named name: String) -> User? {
        lookUpUser { entry, buffer, result in getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    /// The user whose uid is `uid`, or nil.
    ///
    /// The corresponding C function is `getpwuid_r`.
    public static func user(uid: UInt32) -> User? {
        lookUpUser { entry, buffer, result in getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    /// The group `name`, or nil.
    ///
    /// The corresponding C function is `getgrnam_r`.
    public static func group(named name: String) -> Group? {
        lookUpGroup { entry, buffer, result in getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    /// The group whose gid is `gid`, or nil.
    ///
    /// The corresponding C function is `getgrgid_r`.
    public static func group(gid: UInt32) -> Group? {
        lookUpGroup { entry, buffer, result in getgrgid_r(gid, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    private static func lookUpUser(
        _ call: (inout passwd, UnsafeMutableBufferPointer<CChar>, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> User? {
        var size = 16384
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: size)
            let code = buffer.withUnsafeMutableBufferPointer { call(&entry, $0, &result) }
            if code == ERANGE { size *= 4; continue }
            guard code == 0, result != nil else { return nil }
            return User(name: string(entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid,
                        comment: string(entry.pw_gecos), home: string(entry.pw_dir), shell: string(entry.pw_shell))
        }
        return nil
    }

    private static func lookUpGroup(
        _ call: (inout Glibc.group, UnsafeMutableBufferPointer<CChar>, inout UnsafeMutablePointer<Glibc.group>?) -> Int32
    ) -> Group? {
        var size = 16384
        while size <= 1 << 20 {
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: size)
            let code = buffer.withUnsafeMutableBufferPointer { call(&entry, $0, &result) }
            if code == ERANGE { size *= 4; continue }
            guard code == 0, result != nil else { return nil }
            var members: [String] = []
            if var member = entry.gr_mem {
                while let name = member.pointee {
                    members.append(String(cString: name))
                    member += 1
                }
            }
            return Group(name: string(entry.gr_name), gid: entry.gr_gid, members: members)
        }
        return nil
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }
}
