import DZAgent
import DZTasks

extension TaskContext {
    /// The task's arguments read and checked by its contract (`DZTasks`); a violation fails the task with
    /// `bad-args` and the violation's message.
    package func arguments<Contract: TaskContract>(of _: Contract.Type) throws(TaskFailure) -> Contract.Arguments {
        do { return try Contract.Arguments(json: args) } catch { throw .badArgs(error.message) }
    }
}
