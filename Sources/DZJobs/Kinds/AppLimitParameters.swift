import DZSpool
import DZSystem

/// The per-app limits a deploying job gives its `deploy` tasks (argument `limits`): the project's recorded
/// limits (set by an earlier release) with this job's parameters over them, each checked here so that a bad value
/// fails the job before anything is built or started. A missing limit is the appserver's default (`dz agent
/// --app-memory`, `--app-processes`, `--app-cpu-weight`).
///
/// Parameters: `memory_limit` (bytes, or a number with `K`, `M` or `G`; 32M to 1024G), `process_limit`
/// (processes and threads together, 16 to 65536), `cpu_weight` (1 to 10000; 100 is an even share).
enum AppLimitParameters {
    static let memoryRange: ClosedRange<Int64> = (32 << 20)...(1 << 40)
    static let processRange: ClosedRange<Int64> = 16...65536
    static let cpuWeightRange: ClosedRange<Int64> = 1...10000

    /// The limits as the deploy task takes them (`memory`, `processes`, `cpu_weight`).
    static func limits(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        var limits = context.facts["limits"]?.objectValue ?? [:]
        if let text = context.param("memory_limit") {
            guard let bytes = ByteSize.parse(text), memoryRange.contains(bytes) else {
                throw .invalidParameter("memory_limit must be from 32M to 1024G (bytes, or a number with K, M or G), not "
                    + "\(text.prefix(30))")
            }
            limits["memory"] = .int(bytes)
        }
        if let text = context.param("process_limit") {
            guard let count = Int64(text), processRange.contains(count) else {
                throw .invalidParameter("process_limit must be a whole number from 16 to 65536, not \(text.prefix(30))")
            }
            limits["processes"] = .int(count)
        }
        if let text = context.param("cpu_weight") {
            guard let weight = Int64(text), cpuWeightRange.contains(weight) else {
                throw .invalidParameter("cpu_weight must be a whole number from 1 to 10000, not \(text.prefix(30))")
            }
            limits["cpu_weight"] = .int(weight)
        }
        return limits
    }

    /// Whether the job gives any limit (then a succeeded release records them for the next ones).
    static func given(_ context: JobContext) -> Bool {
        ["memory_limit", "process_limit", "cpu_weight"].contains { context.param($0) != nil }
    }
}
