#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CDZShims

extension Subprocess {
    /// Where a child is put before its program runs: control groups to join and resource limits to set, so that
    /// the program and everything it forks are limited from its first instruction (an app's gunicorn, its hooks).
    public struct Placement: Sendable, Equatable {
        /// `cgroup.procs` files the child writes itself into (one per cgroup v1 hierarchy, or one cgroup v2 file).
        public var cgroupProcs: [String]
        public var limits: [ResourceLimit]

        public init(cgroupProcs: [String] = [], limits: [ResourceLimit] = []) {
            self.cgroupProcs = cgroupProcs
            self.limits = limits
        }
    }

    /// One `setrlimit` of the child, soft and hard limit alike.
    public struct ResourceLimit: Sendable, Equatable {
        public enum Resource: Sendable, Equatable {
            /// `RLIMIT_NPROC`: processes and threads of the child's real user, counted over the whole host.
            case processes
            /// `RLIMIT_AS`: the address space of each process.
            case addressSpace
        }

        public var resource: Resource
        public var value: UInt64

        public init(_ resource: Resource, _ value: UInt64) {
            self.resource = resource
            self.value = value
        }

        var code: Int32 {
            switch resource {
            case .processes: dz_rlimit_nproc()
            case .addressSpace: dz_rlimit_as()
            }
        }
    }

    /// Starts `executable` placed as `placement` says, with the child's standard streams and passed descriptors;
    /// returns 0 and the pid, or the errno of what failed.
    ///
    /// The corresponding C function is `dz_spawn` (fork, then in the child: setpgid, write to `cgroup.procs`,
    /// setrlimit, dup2, chdir, close_range, execve).
    static func spawnPlaced(_ executable: String, argv: [UnsafeMutablePointer<CChar>?],
                            envp: [UnsafeMutablePointer<CChar>?], stdin: Int32, stdout: Int32, stderr: Int32,
                            passing: [Int32], workingDirectory: String?, placement: Placement)
        -> (code: Int32, pid: pid_t)
    {
        var pid: pid_t = 0
        let procs = placement.cgroupProcs.map { strdup($0) }
        defer { for pointer in procs { free(pointer) } }
        let limits = placement.limits.map { dz_spawn_limit(resource: $0.code, soft: $0.value, hard: $0.value) }
        var argv = argv
        var envp = envp
        let code = procs.map { UnsafePointer($0) }.withUnsafeBufferPointer { procsBuffer in
            limits.withUnsafeBufferPointer { limitsBuffer in
                passing.withUnsafeBufferPointer { passBuffer in
                    argv.withUnsafeMutableBufferPointer { argvBuffer in
                        envp.withUnsafeMutableBufferPointer { envpBuffer in
                            dz_spawn(&pid, executable, argvBuffer.baseAddress, envpBuffer.baseAddress, stdin, stdout,
                                     stderr, passBuffer.baseAddress, Int32(passing.count), workingDirectory,
                                     procsBuffer.baseAddress, Int32(procs.count), limitsBuffer.baseAddress,
                                     Int32(limits.count))
                        }
                    }
                }
            }
        }
        return (code, pid)
    }
}
