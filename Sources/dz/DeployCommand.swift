import ArgumentParser
import DZClient
import DZSpool
import DZSystem
import DZWork
import Foundation

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy a Django project from its repository: check it, build it, run it behind the proxy.",
        discussion: """
            Submits a build_and_deploy job (check_repo, build_bundle, create_database and bundle_upload, \
            placement, deploy, post_deploy_hooks, health_check, proxy_update, retire_old), accepting check_repo's primary \
            guesses unless --config gives a zoombuild.cfg, waits for it with progress, and prints the URLs. \
            A coordinator and agents for every queue must be running on the spool. Exit 0 when the app is \
            deployed, 1 when the job failed (the previous version, if any, keeps serving). The progress comes \
            from what the coordinator publishes in the spool: any host that sees the spool can deploy.
            """)

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The repository: git URL, hg URL, or a local path when the build agent allows it.",
                                 valueName: "url"))
    var url: String

    @Option(name: .long, help: ArgumentHelp("The project id (default: from the URL's last part).", valueName: "project"))
    var project: String?

    @Option(name: .long, help: ArgumentHelp("Branch, tag or commit (default: the remote's HEAD).", valueName: "rev"))
    var rev: String?

    @Option(name: .long, help: ArgumentHelp("git or hg (default: git).", valueName: "vcs"))
    var vcs: String?

    @Option(name: .long, help: ArgumentHelp("A zoombuild.cfg to use instead of check_repo's guesses.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("hostname"), help: ArgumentHelp("A host name the app answers to (repeatable; default: the project's, else the config's, else <project>.localhost). Public suffixes, IP addresses, localhost and names another project has are refused.", valueName: "name"))
    var hostnames: [String] = []

    @Option(name: .long, help: ArgumentHelp("How many instances to run (default: the project's scale, else 1).", valueName: "n"))
    var instances: Int?

    @Option(name: .long, help: ArgumentHelp("gunicorn workers per instance (default: the project's scale, else the config's num_workers, else 2).", valueName: "n"))
    var workers: Int?

    @Option(name: .customLong("db-engine"), help: ArgumentHelp("postgresql or sqlite (default: the app database's, else the config's, else the database host's).", valueName: "engine"))
    var dbEngine: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Another build_and_deploy parameter (repeatable).", valueName: "key=value"))
    var params: [String] = []

    @Flag(name: .customLong("no-wait"), help: "Print the job id and return at once.")
    var noWait = false

    func validate() throws {
        guard let id = projectID else {
            throw ValidationError("cannot make a project id from \"\(url)\": give --project ([a-z][a-z0-9_]*, at most 30 characters)")
        }
        guard ProjectID.isValid(id) else {
            throw ValidationError("invalid project id \"\(id)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        try HostnameCheck.validate(hostnames, project: id)
        if let instances, !(1...32).contains(instances) { throw ValidationError("--instances must be from 1 to 32") }
        if let workers, !(1...32).contains(workers) { throw ValidationError("--workers must be from 1 to 32") }
        if let vcs, !["git", "hg"].contains(vcs) { throw ValidationError("--vcs must be git or hg") }
        if let dbEngine, !["postgresql", "sqlite"].contains(dbEngine) {
            throw ValidationError("--db-engine must be postgresql or sqlite")
        }
        for param in params where !param.contains("=") { throw ValidationError("--param \"\(param)\": use key=value") }
        if let config, !FileSystem.exists(config) { throw ValidationError("--config: no file \(config)") }
    }

    /// `--project`, else the URL's last path component made into an id: `My-Site.git` -> `my_site`.
    var projectID: String? {
        if let project { return project }
        let last = url.split(separator: "/").last.map(String.init) ?? ""
        var name = last.hasSuffix(".git") ? String(last.dropLast(4)) : last
        name = String(name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        guard let first = name.first else { return nil }
        if !first.isLetter { name = "app_" + name }
        return String(name.prefix(30))
    }

    func run() async throws {
        let client = try options.client()
        guard let project = projectID else { throw ExitStatus.usage }
        var values: [String: JSONValue] = [:]
        for param in params {
            let parts = param.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = .string(String(parts[1]))
        }
        let source = FileSystem.exists(url) && !url.hasPrefix("/") && !url.contains("://")
            ? FileManager.default.currentDirectoryPath + "/" + url : url
        values["source"] = .string(source)
        if let rev { values["rev"] = .string(rev) }
        if let vcs { values["vcs"] = .string(vcs) }
        if !hostnames.isEmpty { values["hostnames"] = .string(hostnames.joined(separator: ",")) }
        if let instances { values["instances"] = .int(Int64(instances)) }
        if let workers { values["workers"] = .int(Int64(workers)) }
        if let dbEngine { values["db_engine"] = .string(dbEngine) }
        if let config {
            guard case .contents(let bytes, _)? = try? FileIO.read(config, limit: 1 << 20) else {
                complain("cannot read \(config)")
                throw ExitStatus.badInput
            }
            values["zoombuild_cfg"] = .string(String(decoding: bytes, as: UTF8.self))
        }
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit("build_and_deploy", project: project, params: values)
        }
        print("job \(id): build_and_deploy of \(project) from \(url)")
        guard !noWait else { return }
        let document = try await Follow.succeeded(id, client)
        JobResult(result: document.job.result ?? [:]).printURLs()
    }
}
