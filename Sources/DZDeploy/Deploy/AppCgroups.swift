#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem

/// How an appserver enforces `AppLimits`, detected from the host's mounts:
///
/// - **cgroup v2** (a `cgroup2` mount with the `memory` and `pids` controllers, `/sys/fs/cgroup` on current
///   hosts): one group per app, `<mount>/<parent>/<project>`, with `memory.max` (and `memory.swap.max` 0, so the
///   limit cannot be dodged into swap), `pids.max` and `cpu.weight`;
/// - **cgroup v1** (`memory` and `pids` hierarchies mounted, `cpu` where there is one): the same group in each,
///   with `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes` where swap accounting is on), `pids.max`
///   and `cpu.shares` (1024 for a weight of 100);
/// - **rlimits** otherwise (no usable cgroups, or the agent is not root): `RLIMIT_AS` of each process and
///   `RLIMIT_NPROC` of the app's user.
///
/// Every process of the app (gunicorn and its workers, the hooks, `dz manage`) is started already inside the group
/// (`Subprocess.Placement`: the child writes itself into `cgroup.procs` before its program runs), so a fork bomb
/// stops at `pids.max` and a leak is killed by the kernel inside the group, never taking the agent or another app
/// with it. `RLIMIT_NPROC` is set in every mode when processes switch to the app's user, as a second fence.
public struct AppCgroups: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case v2(mount: String, cpu: Bool)
        case v1(memory: String, pids: String, cpu: String?)
        case rlimits
    }

    public let mode: Mode
    /// The directory of the app groups under each hierarchy's root.
    public let parent: String
    /// Whether processes switch to the app's user (the agent is root).
    public let switchesUser: Bool

    public init(mode: Mode, parent: String = "dz", switchesUser: Bool = getuid() == 0) {
        self.mode = mode
        self.parent = parent
        self.switchesUser = switchesUser
    }

    /// The mode this host allows now (cgroups only for root).
    public static func detect(parent: String = "dz") -> AppCgroups {
        guard getuid() == 0, let mounts = try? MountTable.current() else {
            return AppCgroups(mode: .rlimits, parent: parent)
        }
        return AppCgroups(mode: detect(mounts: mounts, controllers: { path in
            guard case .contents(let text, _)? = try? FileIO.read(path + "/cgroup.controllers", limit: 4096) else {
                return []
            }
            return Set(String(decoding: text, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
                .map(String.init))
        }), parent: parent)
    }

    /// The mode the mounts give (a cgroup v1 mount names its controllers among its options); `controllers` reads a
    /// cgroup2 mount's available controllers.
    static func detect(mounts: MountTable, controllers: (String) -> Set<String>) -> Mode {
        var v1: [String: String] = [:]
        var v2: [String] = []
        for mount in mounts.mounts {
            switch mount.type {
            case "cgroup2": v2.append(mount.mountPoint)
            case "cgroup":
                for controller in ["memory", "pids", "cpu"] where mount.options[controller] != nil {
                    v1[controller] = mount.mountPoint
                }
            default: break
            }
        }
        for point in v2 {
            let available = controllers(point)
            if available.contains("memory"), available.contains("pids") {
                return .v2(mount: point, cpu: available.contains("cpu"))
            }
        }
        if let memory = v1["memory"], let pids = v1["pids"] { return .v1(memory: memory, pids: pids, cpu: v1["cpu"]) }
        return .rlimits
    }

    /// What is used, for logs and outputs.
    public var description: String {
        switch mode {
        case .v2(let mount, let cpu):
            "cgroup v2 at \(mount)/\(parent) (memory.max, pids.max" + (cpu ? ", cpu.weight)" : ")")
        case .v1(let memory, let pids, let cpu):
            "cgroup v1 at \(memory)/\(parent), \(pids)/\(parent)" + (cpu.map { ", \($0)/\(parent)" } ?? "")
                + " (memory.limit_in_bytes, pids.max" + (cpu == nil ? ")" : ", cpu.shares)")
        case .rlimits:
            "rlimits (RLIMIT_AS per process, RLIMIT_NPROC per app user): no cgroup with memory and pids"
                + (getuid() == 0 ? "" : " (not root)")
        }
    }

    /// A short name of the mode: `cgroup-v2`, `cgroup-v1` or `rlimits`.
    public var name: String {
        switch mode {
        case .v2: "cgroup-v2"
        case .v1: "cgroup-v1"
        case .rlimits: "rlimits"
        }
    }

    /// The app's groups made (or updated) with `limits`, and the placement that puts a process in them.
    func placement(project: String, limits: AppLimits) throws(DeployError) -> Subprocess.Placement {
        var placement = Subprocess.Placement()
        if switchesUser { placement.limits.append(.init(.processes, UInt64(limits.processes))) }
        switch mode {
        case .rlimits:
            placement.limits.append(.init(.addressSpace, limits.memory))
        case .v2(let mount, let cpu):
            let group = try make([mount, parent, project], enabling: cpu ? "+memory +pids +cpu" : "+memory +pids")
            try set(group, "memory.max", String(limits.memory))
            try? set(group, "memory.swap.max", "0")
            try set(group, "pids.max", String(limits.processes))
            if cpu { try set(group, "cpu.weight", String(limits.cpuWeight)) }
            placement.cgroupProcs.append(group + "/cgroup.procs")
        case .v1(let memory, let pids, let cpu):
            let memoryGroup = try make([memory, parent, project])
            // memsw must stay at or above the plain limit: set in the order that keeps it so.
            let bytes = String(limits.memory)
            if (try? set(memoryGroup, "memory.limit_in_bytes", bytes)) == nil {
                try? set(memoryGroup, "memory.memsw.limit_in_bytes", bytes)
                try set(memoryGroup, "memory.limit_in_bytes", bytes)
            }
            try? set(memoryGroup, "memory.memsw.limit_in_bytes", bytes)
            let pidsGroup = try make([pids, parent, project])
            try set(pidsGroup, "pids.max", String(limits.processes))
            placement.cgroupProcs += [memoryGroup + "/cgroup.procs", pidsGroup + "/cgroup.procs"]
            if let cpu {
                let cpuGroup = try make([cpu, parent, project])
                try set(cpuGroup, "cpu.shares", String(max(2, limits.cpuWeight * 1024 / 100)))
                placement.cgroupProcs.append(cpuGroup + "/cgroup.procs")
            }
        }
        return placement
    }

    /// Removes the app's groups once none of its processes is left in them (a group still in use stays).
    package func remove(project: String) {
        let mounts: [String]
        switch mode {
        case .rlimits: return
        case .v2(let mount, _): mounts = [mount]
        case .v1(let memory, let pids, let cpu): mounts = [memory, pids] + (cpu.map { [$0] } ?? [])
        }
        for mount in mounts { try? FileSystem.removeDirectory(mount + "/" + parent + "/" + project) }
    }

    /// Makes `<mount>/<parent>/<project>` (`components`); with `enabling`, writes it to the `subtree_control` of
    /// the mount and of the parent first (cgroup v2 hands controllers down one level at a time).
    private func make(_ components: [String], enabling: String? = nil) throws(DeployError) -> String {
        var path = components[0]
        for component in components.dropFirst() {
            if let enabling {
                do { try ControlFile.write(path + "/cgroup.subtree_control", enabling) } catch {
                    throw .limits("cannot enable \(enabling) in \(path)/cgroup.subtree_control: \(error)")
                }
            }
            path += "/" + component
            do { try FileSystem.makeDirectory(path, mode: 0o755) } catch {
                throw .limits("cannot make the control group \(path): \(error)")
            }
        }
        return path
    }

    private func set(_ group: String, _ file: String, _ value: String) throws(DeployError) {
        do { try ControlFile.write(group + "/" + file, value) } catch {
            throw .limits("cannot write \(value) to \(group)/\(file): \(error)")
        }
    }
}
