#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Host {
    /// Whether this process runs as root (its effective user id is 0): where dz keeps its state by default.
    ///
    /// The corresponding C function is `geteuid`.
    public static var isRoot: Bool { geteuid() == 0 }
}

extension Host {
    /// This process's effective user id.
    ///
    /// The corresponding C function is `geteuid`.
    public static var effectiveUserID: UInt32 { geteuid() }
}

extension Host {
    /// Whether this process's standard output is a terminal (progress redrawn in place) or not (a pipe, a file).
    ///
    /// The corresponding C function is `isatty`.
    public static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
