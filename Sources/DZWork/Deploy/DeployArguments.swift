import DZAgent
import DZSpool

/// A `deploy` task's arguments, all checked before anything happens.
struct DeployArguments: Sendable {
    var project: ProjectID
    var bundle: String
    var appserver: String
    /// `module.path[:callable]`, as gunicorn takes it.
    var wsgi: String
    var sha256: String?
    var hostnames: [Hostname]
    var database: AppDatabase?
    var workers: Int
    var environment: [String: String]
    var secretKey: String?
    var healthPath: String
    var healthTimeout: Double
    /// What counts as up: `.healthy` (below 500, the default) or `.answering` (any HTTP response: the app loads
    /// and serves its host name, though its pages may still need migrations).
    var health: HealthProbe.Requirement
    /// The app's unix user as the coordinator allocated it (required when the agent runs as root).
    var appUser: AppUser.Allocation?
    /// The `limits` argument (checked here), to lay over the agent's defaults (`limits(over:)`).
    var limitsArgument: JSONValue?

    init(_ context: TaskContext) throws(TaskFailure) {
        project = try context.project()
        bundle = try BundleNames.bundle(try context.string("bundle"), of: project)
        appserver = try context.string("appserver")
        guard QueueName.isValid("appserver_" + appserver), !appserver.isEmpty else {
            throw .badArgs("\"\(String(appserver.prefix(60)))\" is not an appserver id ([a-z0-9_.-])")
        }
        wsgi = try context.string("wsgi")
        guard Self.isWSGITarget(wsgi) else {
            throw .badArgs("wsgi must be module.path or module.path:callable of Python identifiers, not "
                + "\"\(String(wsgi.prefix(80)))\"")
        }
        sha256 = try context.optionalString("sha256")?.lowercased()
        if let sha256, !SHA256Digest.isHex(sha256) { throw .badArgs("sha256 must be 64 hex digits") }
        do { hostnames = try Hostname.list(context.args["hostnames"]) } catch { throw .badArgs(error.message) }
        guard !hostnames.isEmpty else { throw .badArgs("hostnames must name at least one host name") }
        if let value = context.args["database"], value != .null {
            database = try AppDatabase(deployArgument: value, project: project)
        }
        let workerCount = try context.number("workers", default: 2)
        guard workerCount.rounded() == workerCount, (1...32).contains(workerCount) else {
            throw .badArgs("workers must be a whole number from 1 to 32")
        }
        workers = Int(workerCount)
        environment = try RuntimeEnvironment.extra(context.args["environment"])
        secretKey = try context.optionalString("secret_key")
        if let secretKey, secretKey.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) {
            throw .badArgs("secret_key contains a newline or NUL")
        }
        healthPath = try context.optionalString("health_path") ?? "/"
        guard Self.isRequestPath(healthPath) else {
            throw .badArgs("health_path must start with / and hold only visible ASCII characters")
        }
        healthTimeout = try context.number("health_timeout_s", default: 60)
        guard (1...3600).contains(healthTimeout) else { throw .badArgs("health_timeout_s must be from 1 to 3600") }
        switch try context.optionalString("health") {
        case nil, "healthy"?: health = .healthy
        case "live"?: health = .answering
        case let other?: throw .badArgs("health must be healthy or live, not \"\(String(other.prefix(40)))\"")
        }
        if let value = context.args["app_user"], value != .null {
            appUser = try AppUser.Allocation(argument: value, project: project)
        }
        limitsArgument = context.args["limits"]
        _ = try AppLimits(argument: limitsArgument, defaults: .defaults)
    }

    /// The app's limits: the deploy's over the agent's defaults.
    func limits(over defaults: AppLimits) throws(TaskFailure) -> AppLimits {
        try AppLimits(argument: limitsArgument, defaults: defaults)
    }

    /// `a.b.c` or `a.b.c:name` of Python identifiers (ASCII): what gunicorn imports, and never an option.
    static func isWSGITarget(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), text.utf8.count <= 200 else { return false }
        let modules = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        return modules.allSatisfy(isIdentifier) && (parts.count == 1 || isIdentifier(parts[1]))
    }

    static func isIdentifier(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, !(48...57).contains(first) else { return false }
        return bytes.allSatisfy { (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0)
            || $0 == UInt8(ascii: "_") }
    }

    /// An origin-form request target: `/` then visible ASCII, at most 1024 bytes.
    static func isRequestPath(_ text: String) -> Bool {
        text.hasPrefix("/") && text.utf8.count <= 1024 && text.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }
}
