import ArgumentParser
import DZAgent
import DZClient
import DZDeploy
import DZJobs
import DZSpool
import DZSystem
import DZTelemetry
import DZWork
import Foundation
import Logging
import ServiceLifecycle

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Drive jobs: serve the results and jobs queues, keep the zoomdb.",
        discussion: """
            One coordinator per spool (its lease, <spool>/coordinator.lease) and per zoomdb (an flock on \
            <db>.lock); a second one exits 75. The zoomdb is this host's own file (--db), never on a network \
            file system (exit 64) unless --allow-network-db. It reads the public suffix list at start (exit 64 \
            without one): host names are checked against it. Restart-safe: \
            SIGKILL and restart at any moment and every job still finishes. SIGTERM or SIGINT: finish the file in \
            hand and exit 0.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Time between rescans of results/ and jobs/ and deadline checks.", valueName: "duration"))
    var rescan: String = "2s"

    @Option(name: .customLong("queue-wait"), parsing: .unconditional, help: ArgumentHelp("Slack on a step's worst case before it is given up.", valueName: "duration"))
    var queueWait: String = "1h"

    @Option(name: .customLong("recover-after"), parsing: .unconditional, help: ArgumentHelp(
        "Recover an appserver with instances once its heartbeat is this old (off by default; e.g. 5m).",
        valueName: "duration"))
    var recoverAfter: String?

    @Option(name: .customLong("wake-listen"), help: ArgumentHelp("Listen for wake-up rings of results and jobs on these UDP addresses (ADDRESS[:PORT] or [IPV6][:PORT], comma-separated, no wildcard; no port: the kernel picks one), published in coordinator.lease (default: $DZ_WAKE_LISTEN, else no listener).", valueName: "address,..."))
    var wakeListen: String?

    @Option(name: .customLong("public-suffix-list"), help: ArgumentHelp(
        "The public suffix list host names are checked against (default: $DZ_PUBLIC_SUFFIX_LIST, else \(PublicSuffixList.debianPath)).",
        valueName: "file"))
    var publicSuffixList: String?

    @Flag(name: .customLong("allow-network-db"), help: "Keep the zoomdb even on a network or FUSE file system (unsafe: SQLite's log needs a local disk).")
    var allowNetworkDB = false

    @Option(name: .customLong("metrics-file"), help: ArgumentHelp("Write Prometheus metrics to this file (for node_exporter's textfile collector; default: $DZ_METRICS_FILE, else none).", valueName: "file"))
    var metricsFile: String?

    @Option(name: .customLong("status-dir"), help: ArgumentHelp("Keep a status page (index.html, status.json) in this directory for a web server to serve (default: $DZ_STATUS_DIR, else none).", valueName: "dir"))
    var statusDir: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        _ = try duration(rescan, "--rescan", in: 0.05...3600)
        _ = try duration(queueWait, "--queue-wait", in: 0...TaskLimits.timeoutSeconds.upperBound)
        if let recoverAfter, DurationText.seconds(recoverAfter).map({ $0 >= 0 && $0 < 30 }) == true {
            throw ValidationError("--recover-after must be at least 30s: an agent restarting must not look lost")
        }
        if let recoverAfter { _ = try duration(recoverAfter, "--recover-after", in: 30...centurySeconds) }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \"\(logLevel)\"") }
        if let path = MetricsFile.path(flag: metricsFile, environment: ProcessInfo.processInfo.environment),
           let problem = MetricsFile.problem(path)
        {
            throw ValidationError("--metrics-file (or DZ_METRICS_FILE): \(problem)")
        }
        _ = try wakeAddresses()
    }

    private func wakeAddresses() throws -> [SocketAddress] {
        do {
            return try WakeListener.addresses(flag: wakeListen, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("--wake-listen (or DZ_WAKE_LISTEN): \(error.message)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        bootstrapLogging(level)
        let spool = try options.makeSpool()
        try SpoolAccess.check(spool, queues: [.results, .jobs])
        let spoolID = try reportingErrors { () throws(SpoolError) in try spool.identity() }
        guard let location = database.location(spoolID: spoolID) else {
            complain("no place for the zoomdb: give --db (or DZ_DB), or run as a user with a home or a state directory")
            throw ExitStatus.usage
        }
        var configuration = CoordinatorConfiguration(databasePath: location.path)
        configuration.allowNetworkDatabase = allowNetworkDB
        configuration.adoptsLegacyDatabase = location.source == .standard
        // A config request is held to the rule the deploy applies to the environment.
        configuration.environmentCheck = { values in
            do { _ = try RuntimeEnvironment.extra(values) } catch {
                return (error as? TaskFailure)?.message ?? "\(error)"
            }
            return nil
        }
        configuration.rescanInterval = try duration(rescan, "--rescan", in: 0.05...3600)
        configuration.queueWait = try duration(queueWait, "--queue-wait", in: 0...TaskLimits.timeoutSeconds.upperBound)
        configuration.wakeListen = try wakeAddresses()
        configuration.recoverAfter = try recoverAfter.map { try duration($0, "--recover-after", in: 30...centurySeconds) }
        // Read before anything starts: without the list no host name can be checked, and a coordinator that
        // cannot check them must not take jobs.
        let listPath = PublicSuffixList.path(explicit: publicSuffixList, environment: ProcessInfo.processInfo.environment)
        do { configuration.hostnamePolicy = HostnamePolicy(suffixes: try PublicSuffixList(contentsOf: listPath)) } catch {
            complain(error.message)
            throw ExitStatus.usage
        }
        var logger = Logger(label: "dz.coordinator")
        logger[metadataKey: "host"] = "\(spool.host)"
        var coordinator = Coordinator(spool: spool, configuration: configuration, logger: logger)
        let environment = ProcessInfo.processInfo.environment
        coordinator.telemetry = CoordinatorTelemetry(
            notifier: ServiceNotifier(environment: environment),
            metricsFile: MetricsFile.path(flag: metricsFile, environment: environment).map(MetricsFile.init(path:)),
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: coordinator, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let directory = statusDir ?? environment["DZ_STATUS_DIR"], !directory.isEmpty {
            var pageLogger = logger
            pageLogger[metadataKey: "service"] = "status-page"
            services.append(.init(service: StatusPageWriter(page: StatusPage(spool: spool), directory: directory,
                                                            logger: pageLogger)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch let error as CoordinatorError {
            complain(error.description)
            switch error {
            case .anotherCoordinator, .leaseLost: throw ExitStatus.temporaryFailure
            case .wrongSpool, .unsuitableDatabase: throw ExitStatus.usage
            }
        } catch let error as JobError {
            complain(error.message)
            throw ExitStatus.systemFailure
        } catch let error as SpoolError {
            complain(error.description)
            throw ExitStatus.code(for: error)
        } catch let error as ClientError {
            // The status page's directory cannot be made or written.
            complain(error.description)
            throw ExitStatus.systemFailure
        }
    }
}
