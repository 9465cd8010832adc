import DZSpool
import DZStore
import DZTasks

/// The steps and facts build_and_deploy and undeploy share: instances on appservers, stopped by
/// `stop_instances` on each appserver's queue, recorded in the zoomdb's deployments.
enum DeploySteps {
    /// The queue of appserver `id`.
    static func appserverQueue(_ id: String?) throws(JobError) -> QueueName {
        guard let id, let queue = try? QueueName("appserver_" + id) else {
            throw .missingOutput("no valid appserver id for the queue: \(id ?? "none")")
        }
        return queue
    }

    /// What the deploy kinds read from the zoomdb: the project's running instances made by other jobs
    /// (`active`), running instances per appserver for placement (`instances`); with `secrets`, the app's secret
    /// key and its database with the password (`database`: step outputs keep only a mask of it, see
    /// `Redaction.maskedOutput`).
    static func facts(_ job: JobRecord, _ db: ZoomDB, secrets: Bool) throws -> [String: JSONValue] {
        guard let project = job.project else { return [:] }
        let active = try db.activeDeployments(of: project).filter { $0.job != job.id }
        var facts: [String: JSONValue] = [
            "active": .array(active.map { .object($0.jsonObject) }),
            "instances": .object(try db.activeInstanceCounts().mapValues { .int(Int64($0)) }),
        ]
        if secrets {
            facts["secret_key"] = .string(try db.secretKey(of: project))
            if let database = try db.appDatabase(of: project) {
                var object: [String: JSONValue] = ["engine": .string(database.engine), "name": .string(database.name)]
                if let host = database.host { object["host"] = .string(host) }
                if let port = database.port { object["port"] = .int(Int64(port)) }
                if let user = database.user { object["user"] = .string(user) }
                if let password = database.password { object["password"] = .string(password) }
                facts["database"] = .object(object)
            }
        }
        return facts
    }

    /// The project's unix user on the appservers: the one the zoomdb records, else one allocated and recorded now.
    /// Planning runs in the coordinator's transaction, one job at a time, so this is the only place a project's
    /// user is ever chosen; the deploy steps only carry it (see `AppUserRecord`).
    static func appUser(of project: String, _ db: ZoomDB) throws -> AppUserRecord {
        try db.allocateAppUser(for: project)
    }

    /// Instances grouped by appserver, as fan-out items `{"appserver": id, "instances": [ids]}`.
    static func byAppserver(_ instances: [[String: JSONValue]]) -> [JSONValue] {
        var order: [String] = []
        var grouped: [String: [JSONValue]] = [:]
        for instance in instances {
            guard let appserver = instance["appserver"]?.stringValue, let id = instance["instance"] else { continue }
            if grouped[appserver] == nil { order.append(appserver) }
            grouped[appserver, default: []].append(id)
        }
        return order.map { .object(["appserver": .string($0), "instances": .array(grouped[$0] ?? [])]) }
    }

    /// A `stop_instances` step fanned out over the instances `select` picks, one task per appserver; the stopped
    /// instances are marked deactivated.
    static func stop(_ name: String, after: [String] = [], compensation: Bool = false,
                     failure: StepDefinition.FailurePolicy = .failJob,
                     select: @escaping @Sendable (JobContext) -> [[String: JSONValue]]) -> StepDefinition
    {
        StepDefinition(name, after: after, task: "stop_instances", queue: .build, maxAttempts: 3,
                       backoffSeconds: 2, timeoutSeconds: 300, failure: failure, compensation: compensation)
        { context throws(JobError) in
            guard let project = context.project, let item = context.item?.objectValue else {
                throw .missingInput("\(name) needs a project and an appserver")
            }
            return StopInstancesTask.Arguments(project: try ReleaseSteps.projectID(project),
                                               instances: (item["instances"]?.arrayValue ?? []).compactMap(\.stringValue))
                .json
        }
        .fannedOut { context in byAppserver(select(context)) }
        .routed { context throws(JobError) in try appserverQueue(context.item?["appserver"]?.stringValue) }
        .recording { job, step, db in
            guard let output = try StepOutputs.read(StopInstancesTask.self, step, job, db) else { return }
            let stopped = output.stopped + output.missing
            try db.deactivateDeployments(stopped)
            if !stopped.isEmpty { try db.log(job.id, .info, "stopped \(stopped.joined(separator: ", "))") }
        }
    }

    /// The project's running instances made by other jobs, from the facts.
    static func active(_ context: JobContext) -> [[String: JSONValue]] {
        (context.facts["active"]?.arrayValue ?? []).compactMap(\.objectValue)
    }
}
