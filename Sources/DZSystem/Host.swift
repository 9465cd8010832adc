#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CDZShims
import SystemPackage

/// Facts about this host and process.
public enum Host {
    /// This process's id.
    ///
    /// The corresponding C function is `getpid`.
    public static var pid: Int32 { getpid() }

    /// The host name, as `gethostname` gives it.
    public static var name: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a process with id `pid` exists on this host (`EPERM` counts as alive).
    ///
    /// The corresponding C function is `kill(pid, 0)`.
    public static func isAlive(pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 { return true }
        return errno != ESRCH
    }

    /// The 1-, 5- and 15-minute load averages.
    ///
    /// The corresponding C function is `getloadavg`.
    public static func loadAverage() -> [Double] {
        var loads: [Double] = [0, 0, 0]
        let count = getloadavg(&loads, 3)
        return count == 3 ? loads : []
    }

    /// Available and total memory in bytes, from `/proc/meminfo`.
    public static func memory() -> (available: UInt64, total: UInt64)? {
        guard case .contents(let bytes, _)? = try? FileIO.read("/proc/meminfo", limit: 64 * 1024) else { return nil }
        var available: UInt64?, total: UInt64?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = UInt64(parts[1]) else { continue }
            if parts[0] == "MemAvailable:" { available = kib * 1024 }
            if parts[0] == "MemTotal:" { total = kib * 1024 }
        }
        guard let available, let total else { return nil }
        return (available, total)
    }

    /// This boot's random id, from `/proc/sys/kernel/random/boot_id`: a pid recorded under another boot id names
    /// a process of an earlier boot, or of another machine, never one of this boot.
    public static let bootID: String = {
        guard case .contents(let bytes, _)? = try? FileIO.read("/proc/sys/kernel/random/boot_id", limit: 128) else {
            return ""
        }
        return String(decoding: bytes, as: UTF8.self).filter { $0.isHexDigit || $0 == "-" }
    }()

    /// Seconds since boot, from `/proc/uptime`.
    public static func uptime() -> Double? {
        guard case .contents(let bytes, _)? = try? FileIO.read("/proc/uptime", limit: 4096) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: " ").first.flatMap { Double($0) }
    }

    /// Random bytes from the kernel.
    ///
    /// The corresponding C function is `getrandom`.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { getrandom($0.baseAddress! + filled, count - filled, 0) }
            if n > 0 { filled += n } else if errno != EINTR { break }
        }
        if filled < count {
            var generator = SystemRandomNumberGenerator()
            for i in filled..<count { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        }
        return bytes
    }
}

extension Host {
    /// This process's real user id.
    ///
    /// The corresponding C function is `getuid`.
    public static var userID: uid_t { getuid() }

    /// The id of the group named `name`, or nil when there is none.
    ///
    /// The corresponding C function is `getgrnam_r`.
    public static func groupID(named name: String) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
