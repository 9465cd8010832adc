import ArgumentParser
import DZAgent
import DZBuild
import DZBundle
import DZDeploy
import DZSource
import DZSpool
import DZSystem
import DZTelemetry
import DZWork
import Foundation
import Logging
import ServiceLifecycle

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Serve queues: claim their tasks, run them, report results.",
        discussion: """
            SIGTERM or SIGINT: stop claiming, let running tasks finish within --grace, release the rest to new/, \
            exit 0. SIGHUP: reopen the audit log. Logs go to standard error.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: [.customShort("Q"), .customLong("queues")],
            help: ArgumentHelp("The queues to serve, comma-separated.", valueName: "queue,..."))
    var queues: String

    @Option(name: .long, help: ArgumentHelp("Tasks run at once.", valueName: "n"))
    var concurrency: Int = 4

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How long a claim lives without renewal.", valueName: "duration"))
    var lease: String = "30s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Time between full rescans of the queues.", valueName: "duration"))
    var rescan: String = "5s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Time running tasks get to finish after SIGTERM.", valueName: "duration"))
    var grace: String = "20s"

    @Option(name: .customLong("task-timeout"), parsing: .unconditional, help: ArgumentHelp("Time limit of a task that sets none.", valueName: "duration"))
    var taskTimeout: String = "1h"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Time after its last write before an unparseable file is bad input.", valueName: "duration"))
    var settle: String = "10s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Clock skew allowed before another host's lease counts as expired.", valueName: "duration"))
    var skew: String = "2s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Time between heartbeats.", valueName: "duration"))
    var heartbeat: String = "5s"

    @Option(name: .customLong("poison-limit"), help: ArgumentHelp("Deaths of this host's agents holding one task before it is set aside as poison.", valueName: "n"))
    var poisonLimit: Int = Spool.defaultPoisonLimit

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("This host's data directory for checkouts and builds (default: $DZ_DATA, else ./var).", valueName: "dir"))
    var dataDir: String?

    @Flag(name: .customLong("allow-local-sources"), help: "Let check_repo and builds check out file:// URLs and paths on this host.")
    var allowLocalSources = false

    @Option(name: .customLong("max-bundle-size"), help: ArgumentHelp("Builds: the most a checkout, a build and a bundle may hold, in bytes or with K, M, G, T.", valueName: "size"))
    var maxBundleSize: String = "2G"

    @Option(name: .customLong("max-static-size"), help: ArgumentHelp("Builds: the most a bundle's static files may hold.", valueName: "size"))
    var maxStaticSize: String = "512M"

    @Option(name: .customLong("bundle-store"), help: ArgumentHelp("Where bundles are stored: file:///dir or s3://bucket/prefix (default: $DZ_BUNDLE_STORE, else file:///var/lib/dz/bundles; S3 settings from the AWS_* variables).", valueName: "url"))
    var bundleStore: String?

    @Option(name: .customLong("db-engine"), help: ArgumentHelp("create_database's default engine: postgresql or sqlite (default: $DZ_DB_ENGINE, else postgresql when a server is set, else sqlite).", valueName: "engine"))
    var dbEngine: String?

    @Option(name: .customLong("pg-admin-host"), help: ArgumentHelp("The PostgreSQL server create_database administers: host or socket directory (default: $DZ_PG_ADMIN_HOST).", valueName: "host"))
    var pgAdminHost: String?

    @Option(name: .customLong("pg-admin-port"), help: ArgumentHelp("Its port (default: $DZ_PG_ADMIN_PORT, else 5432).", valueName: "port"))
    var pgAdminPort: String?

    @Option(name: .customLong("pg-admin-user"), help: ArgumentHelp("Its superuser (default: $DZ_PG_ADMIN_USER, else postgres).", valueName: "user"))
    var pgAdminUser: String?

    @Option(name: .customLong("pg-admin-passfile"), help: ArgumentHelp("A 0600 libpq password file for the superuser (default: $DZ_PG_ADMIN_PASSFILE).", valueName: "file"))
    var pgAdminPassfile: String?

    @Option(name: .customLong("pg-app-host"), help: ArgumentHelp("The host apps connect to (default: $DZ_PG_APP_HOST, else the admin host).", valueName: "host"))
    var pgAppHost: String?

    @Option(name: .customLong("pg-app-port"), help: ArgumentHelp("The port apps connect to (default: $DZ_PG_APP_PORT, else the admin port).", valueName: "port"))
    var pgAppPort: String?

    @Option(name: .customLong("apps-root"), help: ArgumentHelp("Appservers: where apps are installed, one directory per project (default: $DZ_APPS_ROOT, else <data-dir>/apps).", valueName: "dir"))
    var appsRoot: String?

    @Option(name: .customLong("app-address"), help: ArgumentHelp("Appservers: the address instances listen on and the proxy reaches them at (default: $DZ_APP_ADDRESS, else 127.0.0.1).", valueName: "address"))
    var appAddress: String?

    @Option(name: .customLong("app-ports"), help: ArgumentHelp("Appservers: the ports instances may use (default: $DZ_APP_PORTS, else 10000-19999).", valueName: "low-high"))
    var appPorts: String?

    @Option(name: .long, help: ArgumentHelp("Appservers: auto, bubblewrap or none (default: $DZ_ISOLATION, else auto: bubblewrap when bwrap is installed and the agent runs as root).", valueName: "mode"))
    var isolation: String?

    @Option(name: [.customLong("pythons"), .customLong("app-pythons")], parsing: .unconditional, help: ArgumentHelp("Build hosts and appservers: Python interpreters this host offers besides every python3.N in /usr/local/bin and /usr/bin, comma-separated absolute paths named pythonX.Y (default: $DZ_PYTHONS).", valueName: "paths"))
    var appPythons: String?

    @Option(name: .customLong("app-memory"), parsing: .unconditional, help: ArgumentHelp("Appservers: each app's memory unless its deploy says otherwise (default: $DZ_APP_MEMORY, else 1G).", valueName: "size"))
    var appMemory: String?

    @Option(name: .customLong("app-processes"), parsing: .unconditional, help: ArgumentHelp("Appservers: each app's processes and threads (default: $DZ_APP_PROCESSES, else 512).", valueName: "count"))
    var appProcesses: String?

    @Option(name: .customLong("app-cpu-weight"), parsing: .unconditional, help: ArgumentHelp("Appservers: each app's CPU weight, 100 an even share (default: $DZ_APP_CPU_WEIGHT, else 100).", valueName: "weight"))
    var appCPUWeight: String?

    @Option(name: .customLong("media-group"), parsing: .unconditional, help: ArgumentHelp("Appservers: the group of nginx's worker user, given each app's media directory (default: $DZ_MEDIA_GROUP, else www-data).", valueName: "group"))
    var mediaGroup: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Appservers: time between checks that every instance runs.", valueName: "duration"))
    var supervise: String = "5s"

    @Option(name: .long, help: ArgumentHelp("Proxy: the nginx program (default: $DZ_NGINX, else nginx).", valueName: "path"))
    var nginx: String?

    @Option(name: .customLong("nginx-prefix"), help: ArgumentHelp("Proxy: nginx's -p prefix (default: $DZ_NGINX_PREFIX, else none).", valueName: "dir"))
    var nginxPrefix: String?

    @Option(name: .customLong("nginx-conf"), help: ArgumentHelp("Proxy: nginx's -c configuration file (default: $DZ_NGINX_CONF, else nginx's own).", valueName: "file"))
    var nginxConf: String?

    @Option(name: .customLong("nginx-sites"), help: ArgumentHelp("Proxy: the directory nginx includes sites from (default: $DZ_NGINX_SITES, else <prefix>/sites, else /etc/nginx/sites-enabled).", valueName: "dir"))
    var nginxSites: String?

    @Option(name: .customLong("proxy-port"), help: ArgumentHelp("Proxy: the port sites listen on (default: $DZ_PROXY_PORT, else 80).", valueName: "port"))
    var proxyPort: String?

    @Option(name: .customLong("proxy-address"), help: ArgumentHelp("Proxy: the address sites listen on (default: $DZ_PROXY_ADDRESS, else every address).", valueName: "address"))
    var proxyAddress: String?

    @Option(name: .customLong("proxy-tls-port"), help: ArgumentHelp("Proxy: the port sites with a certificate listen on for TLS (default: $DZ_PROXY_TLS_PORT, else 443).", valueName: "port"))
    var proxyTLSPort: String?

    @Option(name: .customLong("acme-directory"), help: ArgumentHelp("Proxy: the ACME server's directory URL that dz certs acme obtains certificates from (default: $DZ_ACME_DIRECTORY, else no ACME).", valueName: "url"))
    var acmeDirectory: String?

    @Option(name: .customLong("acme-email"), help: ArgumentHelp("Proxy: the ACME account's contact address (default: $DZ_ACME_EMAIL, else none).", valueName: "address"))
    var acmeEmail: String?

    @Option(name: .customLong("acme-ca-file"), help: ArgumentHelp("Proxy: PEM CAs to trust the ACME server's TLS by (default: $DZ_ACME_CA_FILE, else the system's).", valueName: "file"))
    var acmeCAFile: String?

    @Option(name: .customLong("wake-listen"), help: ArgumentHelp("Listen for wake-up rings on these UDP addresses (ADDRESS[:PORT] or [IPV6][:PORT], comma-separated, no wildcard; no port: the kernel picks one), published in the heartbeat so that other hosts' drops into these queues are scanned at once (default: $DZ_WAKE_LISTEN, else no listener).", valueName: "address,..."))
    var wakeListen: String?

    @Option(name: .customLong("turn-dir"), help: ArgumentHelp("A directory on this host's own disk where its agents take turns listening to each queue, so that a drop wakes one agent, not all (default: $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/dz, else /run/dz for root and /tmp/dz-UID for others; none: every agent listens all the time).", valueName: "dir"))
    var turnDir: String?

    @Option(name: .customLong("metrics-file"), help: ArgumentHelp("Write Prometheus metrics to this file (for node_exporter's textfile collector; default: $DZ_METRICS_FILE, else none).", valueName: "file"))
    var metricsFile: String?

    @Flag(name: .long, help: "Process what is waiting, then exit when nothing is due and nothing runs (for cron).")
    var drain = false

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    /// The agent's times from its flags, each checked against its range.
    func timing() throws -> AgentConfiguration {
        var configuration = AgentConfiguration(queues: [])
        configuration.leaseSeconds = Int(try duration(
            lease, "--lease",
            in: Double(TaskLimits.leaseSeconds.lowerBound)...Double(TaskLimits.leaseSeconds.upperBound)).rounded())
        configuration.rescanInterval = try duration(rescan, "--rescan", in: 0.05...3600)
        configuration.grace = try duration(grace, "--grace", in: 0...3600)
        configuration.taskTimeout = try duration(taskTimeout, "--task-timeout", in: TaskLimits.timeoutSeconds)
        configuration.settle = try duration(settle, "--settle", in: 0...3600)
        configuration.skew = try duration(skew, "--skew", in: 0...3600)
        configuration.heartbeatInterval = try duration(heartbeat, "--heartbeat", in: 0.05...3600)
        guard (1...100).contains(poisonLimit) else { throw ValidationError("--poison-limit must be from 1 to 100") }
        configuration.poisonLimit = poisonLimit
        switch turnDir {
        case "none"?: configuration.turnDirectory = nil
        case let dir?:
            guard dir.hasPrefix("/") else { throw ValidationError("--turn-dir must be an absolute path or none") }
            configuration.turnDirectory = dir
        case nil:
            configuration.turnDirectory = HostTurns.defaultDirectory(environment: ProcessInfo.processInfo.environment,
                                                                     uid: Host.effectiveUserID)
        }
        do {
            configuration.wakeListen = try WakeListener.addresses(flag: wakeListen,
                                                                  environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("--wake-listen (or DZ_WAKE_LISTEN): \(error.message)")
        }
        return configuration
    }

    func validate() throws {
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 1024") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \"\(logLevel)\"") }
        if let path = MetricsFile.path(flag: metricsFile, environment: ProcessInfo.processInfo.environment),
           let problem = MetricsFile.problem(path)
        {
            throw ValidationError("--metrics-file (or DZ_METRICS_FILE): \(problem)")
        }
        _ = try timing()
        for name in queueNames where !QueueName.isValid(name) {
            throw ValidationError(SpoolError.invalidQueueName(name).description)
        }
        if queueNames.isEmpty { throw ValidationError("-Q: name at least one queue") }
        _ = try buildLimits()
        do { _ = try databaseSettings() } catch let error as DatabaseError { throw ValidationError(error.description) }
        do { _ = try storageLocation() } catch let error as BundleStoreError { throw ValidationError(error.description) }
        // Each role's settings are checked where the role is served: a build host's data directory need not be
        // fit for an nginx configuration.
        if servesAppserver {
            do { _ = try appServerSettings() } catch let error as DeployError { throw ValidationError(error.description) }
        }
        if servesProxy {
            do { _ = try proxySettings() } catch let error as ProxyError { throw ValidationError(error.description) }
        }
        _ = try duration(supervise, "--supervise", in: 0.1...3600)
        for name in queueNames where name == QueueName.results.rawValue || name == QueueName.jobs.rawValue {
            throw ValidationError("-Q: the \(name) queue is served by `dz coordinator`, not by agents")
        }
    }

    private func buildLimits() throws -> BuildLimits {
        guard let bundle = ByteSize.parse(maxBundleSize) else {
            throw ValidationError("--max-bundle-size: \"\(maxBundleSize)\" is not a size (bytes, or a number with K, M, G or T)")
        }
        guard let statics = ByteSize.parse(maxStaticSize) else {
            throw ValidationError("--max-static-size: \"\(maxStaticSize)\" is not a size (bytes, or a number with K, M, G or T)")
        }
        return BuildLimits(maxBundleSize: bundle, maxStaticSize: statics)
    }

    private func storageLocation() throws -> StorageLocation {
        let environment = ProcessInfo.processInfo.environment
        return try StorageLocation(bundleStore ?? environment["DZ_BUNDLE_STORE"] ?? StorageLocation.defaultURL)
    }

    private func databaseSettings() throws -> DatabaseSettings {
        try DatabaseSettings.resolve(engine: dbEngine, adminHost: pgAdminHost, adminPort: pgAdminPort,
                                     adminUser: pgAdminUser, adminPassfile: pgAdminPassfile, appHost: pgAppHost,
                                     appPort: pgAppPort, environment: ProcessInfo.processInfo.environment)
    }

    private var servesAppserver: Bool { queueNames.contains { $0.hasPrefix("appserver_") } }
    private var servesProxy: Bool { queueNames.contains("proxy") }
    private var servesDatabase: Bool { queueNames.contains("database") }
    private var servesBuild: Bool { queueNames.contains("build") }

    /// `--pythons`, else `$DZ_PYTHONS`, else `$DZ_APP_PYTHONS`.
    private var pythonsText: String? {
        let environment = ProcessInfo.processInfo.environment
        return [appPythons, environment["DZ_PYTHONS"], environment["DZ_APP_PYTHONS"]].compactMap { $0 }
            .first { !$0.isEmpty }
    }

    private var workspace: Workspace {
        Workspace(root: Workspace.rootPath(explicit: dataDir, environment: ProcessInfo.processInfo.environment))
    }

    private func appServerSettings() throws -> AppServerSettings {
        try AppServerSettings.resolve(appsRoot: appsRoot, address: appAddress, ports: appPorts, isolation: isolation,
                                      pythons: pythonsText, memory: appMemory, processes: appProcesses,
                                      cpuWeight: appCPUWeight, mediaGroup: mediaGroup, workspace: workspace,
                                      environment: ProcessInfo.processInfo.environment)
    }

    private func proxySettings() throws -> ProxySettings {
        try ProxySettings.resolve(nginx: nginx, prefix: nginxPrefix, conf: nginxConf, sites: nginxSites,
                                  listenPort: proxyPort, listenAddress: proxyAddress, tlsPort: proxyTLSPort,
                                  acmeServer: acmeDirectory, acmeEmail: acmeEmail, acmeCAFile: acmeCAFile,
                                  workspace: workspace,
                                  environment: ProcessInfo.processInfo.environment)
    }

    private var queueNames: [String] {
        queues.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        bootstrapLogging(level)
        let spool = try options.makeSpool()
        var configuration = try timing()
        configuration.queues = try queueNames.map { try QueueName($0) }
        try SpoolAccess.check(spool, queues: configuration.queues + [QueueName.host(spool.host)])
        configuration.concurrency = concurrency
        configuration.drain = drain
        var logger = Logger(label: "dz.agent")
        logger[metadataKey: "host"] = "\(spool.host)"
        let appServer = servesAppserver ? try appServerSettings() : AppServerSettings(workspace: workspace)
        let proxy = servesProxy ? try proxySettings() : ProxySettings(workspace: workspace)
        let pythons = servesAppserver ? appServer.pythons : try AllowedPythons.offered(adding: pythonsText)
        configuration.heartbeatFacts = PlacementFacts.of(appServer: servesAppserver ? appServer : nil,
                                                         database: servesDatabase ? try databaseSettings() : nil,
                                                         workspace: workspace,
                                                         pythons: servesAppserver || servesBuild ? pythons : nil)
        let agent = Agent(spool: spool, configuration: configuration,
                          registry: WorkHandlers.registry(workspace: workspace, spool: spool,
                                                          allowLocalSources: allowLocalSources,
                                                          buildLimits: try buildLimits(),
                                                          database: try databaseSettings(),
                                                          bundleStore: try storageLocation(),
                                                          appServer: appServer, proxy: proxy, pythons: pythons),
                          logger: logger,
                          version: DZCommand.version,
                          telemetry: AgentTelemetry(
                              notifier: ServiceNotifier(environment: ProcessInfo.processInfo.environment),
                              metricsFile: MetricsFile.path(flag: metricsFile, environment: ProcessInfo.processInfo.environment)
                                  .map(MetricsFile.init(path:)),
                              logger: logger))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: agent, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        // An appserver keeps its instances running: they outlive the agent, which adopts them when it starts.
        if servesAppserver, !drain {
            var supervisorLogger = logger
            supervisorLogger[metadataKey: "service"] = "supervisor"
            services.append(.init(service: InstanceSupervisor(settings: appServer, interval: try duration(supervise, "--supervise", in: 0.1...3600),
                                                              logger: supervisorLogger)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch let error as SpoolError {
            complain(error.description)
            throw ExitStatus.code(for: error)
        }
    }
}
