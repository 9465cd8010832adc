import DZSystem
import Foundation

/// Seconds per stage of one deploy, in the order they ran: where a deploy's time goes. They are the deploy's
/// output `timings` (as build_bundle's are its build's), which `dz bench --deploy` prints, and the installer's
/// share is logged with the install.
package struct DeployStages: Sendable {
    package private(set) var stages: [(name: String, seconds: Double)] = []
    private var mark = Timestamp.now()

    package init() {}

    /// Ends stage `name` now; the next one starts.
    package mutating func lap(_ name: String) {
        let now = Timestamp.now()
        stages.append((name, now - mark))
        mark = now
    }

    /// `name=seconds ...`, for a log line.
    package var text: String {
        stages.map { $0.name + "=" + String(format: "%.2f", $0.seconds) }.joined(separator: " ")
    }

    /// Each stage's seconds to the millisecond (a stage run twice counts both times).
    package var milliseconds: [String: Double] {
        var result: [String: Double] = [:]
        for stage in stages { result[stage.name, default: 0] += stage.seconds }
        return result.mapValues { ($0 * 1000).rounded() / 1000 }
    }
}
