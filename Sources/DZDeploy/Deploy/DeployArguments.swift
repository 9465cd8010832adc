import DZAgent
import DZBundle
import DZSpool
import DZTasks

/// A `deploy` task's arguments, all checked before anything happens.
package struct DeployArguments: Sendable {
    package var project: ProjectID
    package var bundle: String
    package var appserver: String
    /// `module.path[:callable]`, as gunicorn takes it.
    package var wsgi: String
    package var sha256: String?
    package var hostnames: [Hostname]
    package var database: AppDatabase?
    package var workers: Int
    package var environment: [String: String]
    package var secretKey: String?
    package var healthPath: String
    package var healthTimeout: Double
    /// What counts as up: `.healthy` (below 500, the default) or `.answering` (any HTTP response: the app loads
    /// and serves its host name, though its pages may still need migrations).
    package var health: HealthProbe.Requirement
    /// The app's unix user as the coordinator allocated it (required when the agent runs as root).
    package var appUser: AppUser.Allocation?
    /// The `limits` argument (checked here), to lay over the agent's defaults (`limits(over:)`).
    var limitsArgument: JSONValue?

    /// The contract's arguments checked further, by what only the appserver knows (naming rules, limits).
    package init(_ args: DeployTask.Arguments) throws(TaskFailure) {
        project = args.project
        bundle = try BundleNames.bundle(args.bundle, of: project)
        appserver = args.appserver
        guard QueueName.isValid("appserver_" + appserver), !appserver.isEmpty else {
            throw .badArgs("\"\(String(appserver.prefix(60)))\" is not an appserver id ([a-z0-9_.-])")
        }
        wsgi = args.wsgi
        guard Self.isWSGITarget(wsgi) else {
            throw .badArgs("wsgi must be module.path or module.path:callable of Python identifiers, not "
                + "\"\(String(wsgi.prefix(80)))\"")
        }
        sha256 = args.sha256?.lowercased()
        if let sha256, !SHA256Digest.isHex(sha256) { throw .badArgs("sha256 must be 64 hex digits") }
        hostnames = args.hostnames
        if let value = args.database {
            database = try AppDatabase(deployArgument: .object(value), project: project)
        }
        workers = args.workers
        environment = try RuntimeEnvironment.extra(args.environment)
        secretKey = args.secretKey
        if let secretKey, secretKey.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) {
            throw .badArgs("secret_key contains a newline or NUL")
        }
        healthPath = args.healthPath ?? "/"
        guard Self.isRequestPath(healthPath) else {
            throw .badArgs("health_path must start with / and hold only visible ASCII characters")
        }
        healthTimeout = args.healthTimeout ?? 60
        health = args.health == .live ? .answering : .healthy
        if let allocation = args.appUser {
            appUser = try AppUser.Allocation(allocation, project: project)
        }
        limitsArgument = args.limits.map { .object($0) }
        _ = try AppLimits(argument: limitsArgument, defaults: .defaults)
    }

    /// The app's limits: the deploy's over the agent's defaults.
    package func limits(over defaults: AppLimits) throws(TaskFailure) -> AppLimits {
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
    package static func isRequestPath(_ text: String) -> Bool {
        text.hasPrefix("/") && text.utf8.count <= 1024 && text.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }
}
