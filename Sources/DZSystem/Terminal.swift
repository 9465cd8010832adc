#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

/// Standard input as a terminal, for reading a secret a person types: not echoed, so that it is neither on the
/// screen nor in the terminal's scrollback (and never on a command line, where `ps` shows it).
public enum Terminal {
    /// Whether standard input is a terminal.
    public static var inputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// Writes `prompt` to standard error, reads one line from the terminal on standard input with echo off
    /// (restored afterwards), and returns it without its newline; at most `limit` bytes are kept. nil at end of
    /// input (^D on an empty line).
    public static func readHiddenLine(prompt: String, limit: Int = 65536) throws(Errno) -> [UInt8]? {
        var saved = termios()
        _ = try retryingInterrupts { tcgetattr(STDIN_FILENO, &saved) }.get()
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        _ = try retryingInterrupts { tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) }.get()
        defer { _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
        // Straight to descriptor 2 (not C's buffered stream, a shared global Swift 6 rejects).
        try? FileIO.writeAll(STDERR_FILENO, Array(prompt.utf8))
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = try retryingInterrupts { read(STDIN_FILENO, &byte, 1) }.get()
            if n == 0 { return line.isEmpty ? nil : line }
            if byte == 10 { return line }
            if line.count < limit { line.append(byte) }
        }
    }
}
