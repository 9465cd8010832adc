import DZSpool
import DZStore
import DZSystem
import Foundation

/// A spool (and a zoomdb beside it) in a temporary directory, removed when the value goes.
final class Scratch {
    let directory: String
    let spool: Spool

    init() throws {
        directory = NSTemporaryDirectory() + "dz-client-test-" + UUID().uuidString
        spool = Spool(root: directory + "/spool", host: try HostID("clienthost"), sync: false)
        try spool.initialize()
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// A zoomdb of this spool, as a coordinator keeps it.
    func zoomdb() throws -> ZoomDB { try ZoomDB(path: directory + "/zoomdb.sqlite3") }

    /// Publishes `document` as the coordinator does.
    func publish(_ document: JobDocument) throws {
        try spool.publish(JSONValue.object(document.jsonObject).serialized(), directory: JobDocument.directory,
                          name: JobDocument.fileName(document.job.id))
    }

    /// A job of ten seconds ago with `steps` named steps, all in `state`.
    func job(_ id: String, state: JobRecord.State, steps: [String] = ["checkout", "deploy"],
             stepState: StepRecord.State = .succeeded, project: String? = "shop") -> JobDocument
    {
        var job = JobRecord(id: id, kind: "selftest", project: project, params: ["a": .string("b")], issuedBy: "me@h",
                            issuedAt: .now() + (-10))
        job.state = state
        job.started = job.issuedAt
        if state.isFinal { job.finished = .now() }
        if state == .failed { job.error = "deploy failed: boom" }
        let records = steps.enumerated().map { index, name in
            var step = StepRecord(job: id, name: name, definition: name, ordinal: index, queue: "build", task: "noop",
                                  taskID: id + "." + name, taskFile: "{}", compensation: false, maxAttempts: 2,
                                  deadline: nil)
            step.state = stepState
            step.host = "builder"
            return step
        }
        return JobDocument(job: job, steps: records, log: [])
    }
}
