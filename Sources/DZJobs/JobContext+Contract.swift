import DZTasks

extension JobContext {
    /// The outputs of the succeeded instances of `step` (by default the step named after the task), read through
    /// the task's contract; an output that does not keep it (a handler of another dz version) is left out, as a
    /// missing key was before.
    func outputs<Contract: TaskContract>(of _: Contract.Type, step: String? = nil) -> [Contract.Output] {
        (outputs[step ?? Contract.name] ?? []).compactMap { try? Contract.Output(json: $0) }
    }
}
