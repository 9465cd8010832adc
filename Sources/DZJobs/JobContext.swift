import DZSpool

/// What a step definition sees when it computes its queue and arguments: the job's parameters and the outputs of
/// the steps before it.
public struct JobContext: Sendable {
    public let jobID: String
    public let kind: String
    public let project: String?
    public let params: [String: JSONValue]
    /// Outputs of succeeded step instances, by definition name, in instance order.
    public let outputs: [String: [[String: JSONValue]]]
    /// The host ids that ran the succeeded instances, by definition name, in instance order.
    public var hosts: [String: [String]] = [:]
    /// What the job kind read from the zoomdb for this planning pass (see `JobKind.facts`).
    public var facts: [String: JSONValue] = [:]
    /// Which host names a project may have (the coordinator's, with the public suffix list it read).
    public var hostnamePolicy = HostnamePolicy()
    /// For a fanned-out instance: its item and index.
    public var item: JSONValue?
    public var index: Int?

    public init(jobID: String, kind: String, project: String?, params: [String: JSONValue],
                outputs: [String: [[String: JSONValue]]])
    {
        self.jobID = jobID
        self.kind = kind
        self.project = project
        self.params = params
        self.outputs = outputs
    }

    /// The output of the single instance of `step`.
    public func output(of step: String) throws(JobError) -> [String: JSONValue] {
        guard let first = outputs[step]?.first else { throw .missingOutput("no output from step \(step)") }
        return first
    }

    /// The per-host queue of the host that ran `step`, so that a step can follow it (see `QueueName.host`).
    public func queueOfHost(thatRan step: String) throws(JobError) -> QueueName {
        guard let text = hosts[step]?.first, let host = try? HostID(text) else {
            throw .missingOutput("no host is known for step \(step)")
        }
        return QueueName.host(host)
    }

    /// A string parameter, or `defaultValue`.
    public func param(_ key: String, default defaultValue: String? = nil) -> String? {
        params[key]?.parameterText ?? defaultValue
    }
}
