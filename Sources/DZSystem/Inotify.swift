#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

/// An inotify instance: watches directories and reads their events.
///
/// Reading blocks, so the owner reads from a thread of its own; `close()` from another thread wakes it
/// through the wake pipe.
public final class Inotify: @unchecked Sendable {
    /// One event as the kernel reported it.
    public struct Event: Sendable, Equatable {
        public var watch: Int32
        public var mask: UInt32
        public var name: String

        /// The kernel's queue overflowed: events were lost, a full rescan is needed.
        public var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    }

    /// What dz watches in a `new/` directory: a finished rename (mv), a finished write (cp), a new link (ln, link drops).
    public static let dropEvents = UInt32(IN_MOVED_TO) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_CREATE)

    // Immutable after init; the descriptors are closed exactly once, in `close()`.
    private let fd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// Creates an inotify instance.
    ///
    /// The corresponding C function is `inotify_init1(IN_CLOEXEC)`.
    public init() throws(Errno) {
        fd = try retryingInterrupts { inotify_init1(Int32(IN_CLOEXEC)) }.get()
        var pipeFDs: [Int32] = [0, 0]
        let piped = retryingInterrupts { pipe(&pipeFDs) }
        if case .failure(let error) = piped {
            _ = Glibc.close(fd)
            throw error
        }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        _ = fcntl(wakeRead, F_SETFD, FD_CLOEXEC)
        _ = fcntl(wakeWrite, F_SETFD, FD_CLOEXEC)
    }

    /// Watches `path` for the events in `mask`; returns the watch descriptor that events carry.
    ///
    /// The corresponding C function is `inotify_add_watch`.
    public func watch(_ path: String, mask: UInt32 = Inotify.dropEvents) throws(Errno) -> Int32 {
        try retryingInterrupts { inotify_add_watch(fd, path, mask) }.get()
    }

    /// Blocks until events arrive or `close()` is called; returns `nil` once closed. With `milliseconds`, waits
    /// at most that long and returns no events when none came.
    ///
    /// The corresponding C functions are `poll` and `read`.
    public func read(timeout milliseconds: Int32 = -1) throws(Errno) -> [Event]? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let ready = try retryingInterrupts { poll(&fds, 2, milliseconds) }.get()
        if fds[1].revents != 0 { return nil }
        if ready == 0 { return [] }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = try buffer.withUnsafeMutableBytes { raw in
            retryingInterrupts { Glibc.read(fd, raw.baseAddress!, raw.count) }
        }.get()
        return Inotify.parse(Array(buffer[0..<count]))
    }

    /// Wakes a blocked `read()` and makes it return `nil`. Call once.
    public func close() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    deinit {
        _ = Glibc.close(fd)
        _ = Glibc.close(wakeRead)
        _ = Glibc.close(wakeWrite)
    }

    /// Splits a buffer of `struct inotify_event` records; Swift does not import the flexible `name` member,
    /// so the name is read at offset 16 and the next record starts 16 + `len` bytes further.
    static func parse(_ bytes: [UInt8]) -> [Event] {
        var events: [Event] = []
        var offset = 0
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        while offset + 16 <= bytes.count {
            let wd = Int32(bitPattern: u32(offset))
            let mask = u32(offset + 4)
            let length = Int(u32(offset + 12))
            let nameStart = offset + 16
            let nameEnd = min(nameStart + length, bytes.count)
            var name = ""
            if length > 0 {
                let raw = bytes[nameStart..<nameEnd]
                let trimmed = raw.prefix { $0 != 0 }
                name = String(decoding: trimmed, as: UTF8.self)
            }
            events.append(Event(watch: wd, mask: mask, name: name))
            offset = nameStart + length
        }
        return events
    }
}
