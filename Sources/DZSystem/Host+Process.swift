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
    /// Seconds of CPU (user and system) process `pid` has used so far, from `/proc/<pid>/stat` (in clock ticks,
    /// 10 ms on most kernels), or nil when it is gone: what a benchmark's agents cost over a measurement.
    ///
    /// The corresponding C function is `sysconf(_SC_CLK_TCK)`.
    public static func cpuSeconds(of pid: Int32) -> Double? {
        guard case .contents(let bytes, _)? = try? FileIO.read("/proc/\(pid)/stat", limit: 4096),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After the command name (which may hold spaces and parentheses): state, ppid, ... utime is the 12th
        // field and stime the 13th.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 12, let user = Double(String(decoding: fields[11], as: UTF8.self)),
              let system = Double(String(decoding: fields[12], as: UTF8.self)) else { return nil }
        let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return (user + system) / ticks
    }
}

extension Host {
    /// Whether this process's standard output is a terminal (progress redrawn in place) or not (a pipe, a file).
    ///
    /// The corresponding C function is `isatty`.
    public static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}

extension Host {
    /// Replaces this process with `executable` (an absolute path), `arguments` (the first being its name) and
    /// exactly `environment`, keeping the standard streams: for a forced ssh command that hands the connection to
    /// git. Returns only by throwing, when the program could not be started.
    ///
    /// The corresponding C function is `execve`.
    public static func replaceProcess(executable: String, arguments: [String], environment: [String: String])
        throws(Errno) -> Never
    {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0.key + "=" + $0.value) } + [nil]
        _ = execve(executable, argv, envp)
        let error = Errno(rawValue: errno)
        for pointer in argv + envp { free(pointer) }
        throw error
    }
}
