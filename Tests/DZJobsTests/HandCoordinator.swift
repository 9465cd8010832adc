import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// Plays the coordinator by hand for one job kind: applies the planner's plans with the zoomdb facts given
/// directly, dispatching every new step at once, until nothing new happens.
struct HandCoordinator {
    var planner: JobPlanner
    var facts: [String: JSONValue] = [:]
    /// The planning time, fixed so that deadlines can be checked exactly.
    var now: Timestamp = .now()

    /// Applies plans until nothing new happens; returns the job and all steps.
    func settle(_ job: JobRecord, _ steps: [StepRecord]) -> (JobRecord, [StepRecord]) {
        var job = job
        var steps = steps
        while true {
            let plan = planner.plan(job, steps: steps, facts: facts, now: now)
            steps += plan.newSteps.map { step in
                var dispatched = step
                if dispatched.state == .dispatching { dispatched.state = .dispatched }
                return dispatched
            }
            let changed = plan.job != job || !plan.newSteps.isEmpty
            job = plan.job
            if !changed { return (job, steps) }
        }
    }

    /// The context the kind's result and `onFinish` see once the job has ended.
    func context(_ job: JobRecord, _ steps: [StepRecord]) -> JobContext {
        planner.context(job, steps, facts: facts)
    }
}

extension [StepRecord] {
    /// Changes step `name` as its result would.
    mutating func report(_ name: String, _ change: (inout StepRecord) -> Void) {
        guard let index = firstIndex(where: { $0.name == name }) else {
            Issue.record("no step \(name)")
            return
        }
        change(&self[index])
    }

    /// Reports step `name` succeeded with `output`, run on `host`.
    mutating func succeed(_ name: String, _ output: [String: JSONValue] = [:], host: String = "builder") {
        report(name) { step in
            step.state = .succeeded
            step.output = output
            step.host = host
        }
    }

    /// Reports step `name` failed.
    mutating func fail(_ name: String, kind: String = "failed", _ message: String = "boom") {
        report(name) { step in
            step.state = .failed
            step.errorKind = kind
            step.error = message
        }
    }

    /// The arguments of step `name`'s task file.
    func args(_ name: String) throws -> [String: JSONValue] {
        let step = try #require(first { $0.name == name })
        return try TaskFile(parsing: [UInt8](step.taskFile.utf8), stem: step.taskID).args
    }

    /// The steps dispatched and not yet reported, by name.
    var running: [String] { filter { $0.state == .dispatched }.map(\.name).sorted() }

    /// The instances of step definition `definition` that really run a task (not the marker of an empty fan-out).
    func tasks(of definition: String) -> [StepRecord] {
        filter { $0.definition == definition && $0.task != JobPlanner.noTask }
    }
}

/// A new zoomdb in a temporary directory, removed after `body`.
func withTemporaryZoomDB(_ body: (ZoomDB) throws -> Void) throws {
    let directory = NSTemporaryDirectory() + "dz-jobs-test-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(try ZoomDB(path: directory + "/zoomdb.sqlite3"))
}
