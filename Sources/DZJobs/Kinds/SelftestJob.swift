import DZSpool

/// `selftest`: a job shaped exactly like build_and_deploy, made of the smoke handlers, for testing the engine
/// across agents: checkout -> bundle -> [create_database || upload] -> placement -> deploy (one per appserver)
/// -> post_deploy_hooks (first appserver) -> proxy_update -> retire_old; compensation: stop_new_instances.
///
/// Parameters: `appservers` (comma-separated ids, default `app1`); `fail=<step>` makes that step fail (retryably,
/// so it uses all its attempts); `hang=<step>` makes it sleep past its time limit; `slow=<step>:<seconds>` makes it
/// sleep. A failure of `retire_old` is a warning, not a failed job (like the original's old-bundle removal).
/// The generic job parameters `timeout_s`, `max_attempts` and `backoff_s` override every step's policy.
public enum SelftestJob {
    static let order = ["checkout", "bundle", "create_database", "upload", "placement", "deploy",
                        "post_deploy_hooks", "proxy_update", "retire_old"]

    public static let kind: JobKind = {
        func step(_ name: String, after: [String], queue: QueueName) -> StepDefinition {
            StepDefinition(name, after: after, task: "noop", queue: queue)
                .running { context in task(for: name, context) }
        }
        func shaped(_ definition: StepDefinition) -> StepDefinition {
            var copy = definition
            let name = definition.name
            let base = copy.args
            copy.args = { context throws(JobError) in try arguments(for: name, context, base: base(context)) }
            return copy
        }
        let steps: [StepDefinition] = [
            step("checkout", after: [], queue: .build),
            step("bundle", after: ["checkout"], queue: .build),
            step("create_database", after: ["bundle"], queue: .database),
            step("upload", after: ["bundle"], queue: .build),
            step("placement", after: ["create_database", "upload"], queue: .build)
                .running { context in task(for: "placement", context, normal: "echo") },
            StepDefinition("deploy", after: ["placement"], task: "echo", queue: .build)
                .running { context in task(for: "deploy", context, normal: "echo") }
                .fannedOut { context throws(JobError) in try placed(context).map { .string($0) } }
                .routed { context throws(JobError) in try appserverQueue(context.item?.stringValue) },
            StepDefinition("post_deploy_hooks", after: ["deploy"], task: "noop", queue: .build)
                .running { context in task(for: "post_deploy_hooks", context) }
                .routed { context throws(JobError) in try appserverQueue(try placed(context).first) },
            step("proxy_update", after: ["post_deploy_hooks"], queue: .proxy),
            { var retire = step("retire_old", after: ["proxy_update"], queue: .build); retire.failure = .warn; return retire }(),
            StepDefinition("stop_new_instances", task: "noop", queue: .build, compensation: true)
                .fannedOut { context in (context.outputs["deploy"] ?? []).compactMap { $0["appserver"] } }
                .routed { context throws(JobError) in try appserverQueue(context.item?.stringValue) },
        ].map(shaped).map { definition in
            var copy = definition
            copy.maxAttempts = 2
            copy.backoffSeconds = 0.2
            copy.timeoutSeconds = 30
            return copy
        }
        return JobKind(name: "selftest", summary: "a synthetic build_and_deploy made of noop/sleep/fail tasks",
                       steps: steps) { context in
            ["appservers": .array((context.outputs["deploy"] ?? []).compactMap { $0["appserver"] })]
        }
    }()

    static func placed(_ context: JobContext) throws(JobError) -> [String] {
        guard case .array(let items)? = try context.output(of: "placement")["appservers"] else {
            throw .missingOutput("placement chose no appservers")
        }
        return items.compactMap(\.stringValue)
    }

    static func appserverQueue(_ id: String?) throws(JobError) -> QueueName {
        guard let id, let queue = try? QueueName("appserver_" + id) else {
            throw .missingOutput("no valid appserver id for the queue: \(id ?? "none")")
        }
        return queue
    }

    /// The step's chosen behaviour from the job's parameters.
    static func task(for step: String, _ context: JobContext, normal: String = "noop") -> String {
        if context.param("fail") == step { return "fail" }
        if context.param("hang") == step { return "sleep" }
        if let slow = context.param("slow"), slow.hasPrefix(step + ":") { return "sleep" }
        return normal
    }

    static func arguments(for step: String, _ context: JobContext, base: [String: JSONValue]) throws(JobError)
        -> [String: JSONValue]
    {
        var args = base
        switch task(for: step, context, normal: "") {
        case "fail":
            args["message"] = .string("\(step) failed on request")
            args["retryable"] = .bool(true)
        case "sleep":
            if context.param("hang") == step {
                args["seconds"] = .int(3600)
            } else if let slow = context.param("slow"), let seconds = Double(slow.dropFirst(step.count + 1)) {
                args["seconds"] = .double(seconds)
            }
        default:
            break
        }
        switch step {
        case "placement":
            let ids = (context.param("appservers") ?? "app1").split(separator: ",").map(String.init)
            args["appservers"] = .array(ids.map { .string($0) })
        case "deploy":
            args["appserver"] = context.item ?? .null
        default:
            break
        }
        return args
    }
}
