#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem
import Foundation

/// A test hook that stops this process (SIGSTOP, as a VM pause or a hung NFS server would) at chosen points of a
/// task's completion, so that the chaos tests can pause a holder at the worst moment and check the fencing.
///
/// Off unless `DZ_TEST_FAULTS` is set, e.g. `DZ_TEST_FAULTS=staged:0.01,committed:0.01`: at each named point the
/// process stops itself with that probability, and whoever runs the test sends SIGCONT later. Read once at start.
public enum FaultInjection {
    /// The points in `Spool.finish` and `Spool.retry` where a holder may be paused.
    public enum Point: String, Sendable, CaseIterable {
        /// The outcome is staged beside the claim, not yet committed.
        case staged
        /// The claim is committed (renamed), nothing published yet.
        case committed
        /// The result is in the reply queue, the task not yet moved to `done/` or `failed/`.
        case delivered
    }

    private static let chances: [Point: Double] = {
        guard let text = ProcessInfo.processInfo.environment["DZ_TEST_FAULTS"], !text.isEmpty else { return [:] }
        var chances: [Point: Double] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let point = Point(rawValue: String(parts[0])),
                  let chance = Double(parts[1]), (0...1).contains(chance) else { continue }
            chances[point] = chance
        }
        return chances
    }()

    /// Stops the process at `point` with the configured probability (never, in production).
    @inline(__always)
    static func pause(at point: Point) {
        guard !chances.isEmpty, let chance = chances[point], Double.random(in: 0..<1) < chance else { return }
        Glibc.raise(SIGSTOP)
    }
}
