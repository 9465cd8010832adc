#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
import DZTasks

/// Which part of a log file to return: its last `lines` complete lines, or, from a `since` position (where the
/// previous read stopped), the lines written after it; never more than `byteLimit` bytes read.
///
/// Lines are what ends in a newline. An unterminated last line is held back (the next read returns it whole), unless
/// it is `maxLineBytes` long already. Each line is cut to `maxLineBytes`, a trailing CR dropped, and control
/// characters other than tab (which could drive the reader's terminal) shown as `?`.
///
/// A `since` offset past the file's end (the file was truncated) or an inode other than the file's (it was
/// rotated) makes the read start again at byte 0, and says so (`restarted`).
package struct LogTail: Sendable {
    /// Where a reader stopped: the byte after the last line it got, and the file's inode then (nil: unknown).
    package struct Position: Sendable, Equatable {
        var offset: Int
        var inode: UInt64?

        package init(offset: Int, inode: UInt64? = nil) {
            self.offset = offset
            self.inode = inode
        }
    }

    /// The most lines a read returns.
    package static let maxLines = ReadLogsTask.maxLines
    /// The longest line returned; longer ones are cut.
    static let maxLineBytes = 4096

    var lines: Int
    package var byteLimit: Int
    package var since: Position?

    package init(lines: Int, byteLimit: Int, since: Position? = nil) {
        self.lines = lines
        self.byteLimit = byteLimit
        self.since = since
    }

    /// The byte range to read of a file of `size` bytes and inode `inode`: from where reading begins (`base`: `since`,
    /// else 0), at most the last `byteLimit` bytes, plus the byte before them when some were skipped (to tell whether
    /// the first of them starts a line).
    func range(size: Int, inode: UInt64) -> (base: Int, read: Range<Int>, restarted: Bool) {
        var base = 0
        var restarted = false
        if let since {
            if since.offset > size || (since.inode != nil && since.inode != inode) {
                restarted = true
            } else {
                base = max(0, since.offset)
            }
        }
        let start = max(base, size - byteLimit)
        return (base, (start > base ? start - 1 : start)..<size, restarted)
    }

    /// The excerpt of the file from what `range` asked for: `bytes` read from `read.lowerBound`.
    func excerpt(name: String, bytes: [UInt8], read: Range<Int>, base: Int, restarted: Bool, size: Int, inode: UInt64,
                 secrets: [String]) -> LogExcerpt
    {
        let newline = UInt8(ascii: "\n")
        var cursor = 0
        if read.lowerBound > base {
            // The window starts after `base`, maybe inside a line: drop up to the first line start (the extra byte
            // read before the window is a newline when the window starts a line).
            guard !bytes.isEmpty else {
                // The file shrank between its status and the read: nothing now, the next read sees why.
                return LogExcerpt(name: name, lines: [], offset: base, size: size, inode: inode, restarted: restarted,
                                  skippedBytes: 0)
            }
            guard let first = bytes.firstIndex(of: newline) else {
                // One line longer than the whole window: what the window holds of it, cut.
                let text = Self.clean(bytes.dropFirst(), secrets: secrets)
                return LogExcerpt(name: name, lines: [text], offset: read.lowerBound + bytes.count, size: size,
                                  inode: inode, restarted: restarted, skippedBytes: read.lowerBound + 1 - base)
            }
            cursor = first + 1
        }
        var complete: [Range<Int>] = []
        var lineStart = cursor
        for index in cursor..<bytes.count where bytes[index] == newline {
            complete.append(lineStart..<index)
            lineStart = index + 1
        }
        var end = lineStart
        if bytes.count - lineStart >= Self.maxLineBytes {
            complete.append(lineStart..<bytes.count)
            end = bytes.count
        }
        let kept = complete.suffix(lines)
        let firstKept = kept.first?.lowerBound ?? end
        return LogExcerpt(name: name, lines: kept.map { Self.clean(bytes[$0], secrets: secrets) },
                          offset: read.lowerBound + end, size: size, inode: inode, restarted: restarted,
                          skippedBytes: read.lowerBound + firstKept - base)
    }

    /// Reads `name` in `directory` (see `DirectoryHandle.read`; with `ownedBy`, only a file of that user) and
    /// returns its excerpt, or an excerpt with `problem` set when it is missing or refused.
    package func read(_ name: String, in directory: DirectoryHandle, ownedBy uid: UInt32?, secrets: [String]) -> LogExcerpt {
        var planned: (base: Int, read: Range<Int>, restarted: Bool)?
        do {
            let (status, bytes) = try directory.read(name, ownedBy: uid) { status in
                let plan = range(size: Int(status.st_size), inode: UInt64(status.st_ino))
                planned = plan
                return plan.read
            }
            guard let plan = planned else { return LogExcerpt(name: name, problem: "cannot read: no status") }
            return excerpt(name: name, bytes: bytes, read: plan.read.lowerBound..<(plan.read.lowerBound + bytes.count),
                           base: plan.base, restarted: plan.restarted, size: Int(status.st_size),
                           inode: UInt64(status.st_ino), secrets: secrets)
        } catch {
            return LogExcerpt(name: name, problem: Self.problem(error))
        }
    }

    /// What a reader is told about a file that could not be read.
    package static func problem(_ error: Errno) -> String {
        switch error {
        case .noSuchFileOrDirectory: "missing"
        case .tooManySymbolicLinkLevels: "refused: a symbolic link"
        // What openat(O_DIRECTORY | O_NOFOLLOW) says of a link to a directory.
        case .notDirectory: "refused: a symbolic link or not a directory"
        case .notPermitted: "refused: not a regular file of the app's user"
        default: "cannot read: \(error)"
        }
    }

    /// One line as shown: cut to `maxLineBytes`, without a trailing CR, control characters as `?`, secrets masked.
    static func clean(_ bytes: some Collection<UInt8>, secrets: [String]) -> String {
        var line = Array(bytes.prefix(maxLineBytes))
        let cut = bytes.count - line.count
        if line.last == 13 { line.removeLast() }
        for index in line.indices where (line[index] < 0x20 && line[index] != 9) || line[index] == 0x7f {
            line[index] = UInt8(ascii: "?")
        }
        var text = String(decoding: line, as: UTF8.self)
        if text.unicodeScalars.contains(where: { (0x80...0x9f).contains($0.value) }) {
            text = String(String.UnicodeScalarView(text.unicodeScalars.map {
                (0x80...0x9f).contains($0.value) ? "?" : $0
            }))
        }
        if !secrets.isEmpty { text = Redaction.mask(text, secrets: secrets) }
        return cut > 0 ? text + " [cut: \(cut) more bytes]" : text
    }
}
