import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks

/// `health_check` (queue `appserver_<id>`): checks that a running instance serves its app, as a client would
/// reach it: `GET health_path` with the app's first host name as `Host`, until an answer below 500 or the time
/// limit. build_and_deploy runs it on every new instance after the migrations and before the proxy switches, so
/// that a page that needs the new tables is checked against them.
///
/// Arguments: `project`, `instance` (an instance on this host), `hostnames` (at least one), optional
/// `health_path` (default `/`) and `health_timeout_s` (default 60). An unhealthy instance is left running (the
/// job's compensation stops every new instance); the task fails, not retryably (kind `health-check`), with the
/// end of the instance's error log, secrets masked. Output: `instance`, `status` (the HTTP status it answered with).
public struct HealthCheckHandler: TaskHandler {
    public let name = "health_check"
    public let settings: AppServerSettings

    public init(settings: AppServerSettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: HealthCheckTask.self)
        let project = args.project
        let instance = args.instance
        let host = args.hostnames[0]
        let path = args.healthPath ?? "/"
        guard DeployArguments.isRequestPath(path) else {
            throw TaskFailure.badArgs("health_path must start with / and hold only visible ASCII characters")
        }
        let timeout = args.healthTimeout ?? 60
        do {
            return try await check(project, instance, host: host.concreteName, path: path, timeout: timeout,
                                   context)
        } catch {
            throw error.taskFailure
        }
    }

    private func check(_ project: ProjectID, _ instance: String, host: String, path: String, timeout: Double,
                       _ context: TaskContext) async throws(DeployError) -> [String: JSONValue]
    {
        guard let record = try InstanceDirectory(root: settings.instancesRoot)
            .record(project: project.rawValue, instance: instance) else {
            throw .unknownInstance(instance)
        }
        let launcher = InstanceLauncher(logger: context.logger)
        let probe = HealthProbe(address: record.address, port: record.port, host: host, path: path)
        do {
            let status = try await launcher.awaitHealthy(record, probe: probe, timeout: timeout)
            return HealthCheckTask.Output(instance: instance, status: status).json
        } catch {
            let environment = try? RuntimeEnvironment.read(
                for: record, records: InstanceDirectory(root: settings.instancesRoot))
            let tail = launcher.errorLogTail(record, secrets: environment?.secrets ?? [])
            throw .healthCheck(error.description + "\nerror log:\n" + tail)
        }
    }
}
