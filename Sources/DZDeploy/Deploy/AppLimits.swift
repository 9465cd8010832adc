import DZAgent
import DZSpool
import DZSystem

/// What one app may take of an appserver: memory, processes (and threads) and a share of the CPU. The agent's
/// settings give the defaults (`dz agent --app-memory`, `--app-processes`, `--app-cpu-weight`); a deploy's `limits`
/// argument (from the job's `memory_limit`, `process_limit` and `cpu_weight` parameters, kept by the zoomdb for the
/// app's later releases) overrides them. `AppCgroups` enforces them.
public struct AppLimits: Sendable, Equatable, Codable {
    /// Bytes of memory for all of the app's processes on the host (with cgroups), or of each process (rlimits).
    public var memory: UInt64
    /// Processes and threads of the app on the host.
    public var processes: Int
    /// The app's share of the CPU against the others when the CPU is busy: 100 is an even share.
    public var cpuWeight: Int

    enum CodingKeys: String, CodingKey {
        case memory, processes
        case cpuWeight = "cpu_weight"
    }

    public init(memory: UInt64, processes: Int, cpuWeight: Int) {
        self.memory = memory
        self.processes = processes
        self.cpuWeight = cpuWeight
    }

    /// 1 GiB, 512 processes and threads, an even share of the CPU.
    public static let defaults = AppLimits(memory: 1 << 30, processes: 512, cpuWeight: 100)

    static let memoryRange: ClosedRange<UInt64> = (32 << 20)...(1 << 40)
    static let processRange = 16...65536
    static let cpuWeightRange = 1...10000

    /// The deploy's `limits` argument (`memory` in bytes, `processes`, `cpu_weight`) over `defaults`.
    init(argument value: JSONValue?, defaults: AppLimits) throws(TaskFailure) {
        self = defaults
        guard let value, value != .null else { return }
        guard case .object(let object) = value else { throw .badArgs("limits must be an object") }
        for (key, entry) in object {
            guard let number = entry.intValue else { throw .badArgs("limits.\(key) must be a whole number") }
            switch key {
            case "memory":
                guard number > 0, Self.memoryRange.contains(UInt64(number)) else {
                    throw .badArgs("limits.memory must be from 32 MiB to 1 TiB, in bytes")
                }
                memory = UInt64(number)
            case "processes":
                guard Self.processRange.contains(Int(number)) else {
                    throw .badArgs("limits.processes must be from 16 to 65536")
                }
                processes = Int(number)
            case "cpu_weight":
                guard Self.cpuWeightRange.contains(Int(number)) else {
                    throw .badArgs("limits.cpu_weight must be from 1 to 10000")
                }
                cpuWeight = Int(number)
            default:
                throw .badArgs("limits has memory, processes and cpu_weight, not \"\(String(key.prefix(40)))\"")
            }
        }
    }

    /// The agent's settings: `--app-memory` (bytes, or a number with K, M or G), `--app-processes`,
    /// `--app-cpu-weight`, each nil to keep the default.
    static func resolve(memory: String?, processes: String?, cpuWeight: String?) throws(DeployError) -> AppLimits {
        var limits = AppLimits.defaults
        if let memory {
            guard let bytes = ByteSize.parse(memory).map(UInt64.init), memoryRange.contains(bytes) else {
                throw .badSettings("--app-memory must be from 32M to 1024G, not \"\(memory.prefix(30))\"")
            }
            limits.memory = bytes
        }
        if let processes {
            guard let count = Int(processes), processRange.contains(count) else {
                throw .badSettings("--app-processes must be from 16 to 65536, not \"\(processes.prefix(30))\"")
            }
            limits.processes = count
        }
        if let cpuWeight {
            guard let weight = Int(cpuWeight), cpuWeightRange.contains(weight) else {
                throw .badSettings("--app-cpu-weight must be from 1 to 10000, not \"\(cpuWeight.prefix(30))\"")
            }
            limits.cpuWeight = weight
        }
        return limits
    }

    /// As a deploy reports them.
    var jsonObject: [String: JSONValue] {
        ["memory": .int(Int64(memory)), "processes": .int(Int64(processes)), "cpu_weight": .int(Int64(cpuWeight))]
    }
}
