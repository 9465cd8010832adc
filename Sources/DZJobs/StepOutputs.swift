import DZStore
import DZTasks

/// Reads a succeeded step's output through its task's contract where the coordinator records it in the zoomdb.
enum StepOutputs {
    /// The step's output; nil when it has none, or when it does not keep the contract: then the job's log says
    /// what was not recorded and why, rather than nothing.
    static func read<Contract: TaskContract>(_: Contract.Type, _ step: StepRecord, _ job: JobRecord, _ db: ZoomDB)
        throws -> Contract.Output?
    {
        guard let object = step.output else { return nil }
        do { return try Contract.Output(json: object) } catch {
            try db.log(job.id, .warn, "\(step.name): its output was not recorded: \(error.message)")
            return nil
        }
    }
}
