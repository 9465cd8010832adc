import Foundation

/// How big the cluster tests run. The default keeps the whole CI run well inside its time on a 2-core machine;
/// `DZ_CLUSTER_BIG=1` runs the bigger variant (more tasks, more rounds).
enum ClusterScale {
    static var isBig: Bool { ProcessInfo.processInfo.environment["DZ_CLUSTER_BIG"].map { !$0.isEmpty && $0 != "0" } ?? false }

    /// Tasks of the exactly-once backlog over three blind agents.
    /// Whether the deploy across hosts runs with wake-ups (the default; `DZ_CLUSTER_WAKEUPS=0` for the same deploy
    /// with rescans alone, to compare the time spent between hosts).
    static var deployWakeups: Bool { ProcessInfo.processInfo.environment["DZ_CLUSTER_WAKEUPS"] != "0" }
    static var backlogTasks: Int { isBig ? 20_000 : 3_000 }
}
