import DZAgent
import DZSpool

extension TaskContext {
    /// The task's `project` argument, validated: every work handler names its project this way.
    func project() throws(TaskFailure) -> ProjectID {
        let text = try string("project")
        do { return try ProjectID(text) } catch { throw .badArgs(error.message) }
    }
}
