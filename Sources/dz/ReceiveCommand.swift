import ArgumentParser
import DZSpool
import DZSync
import Logging
import ServiceLifecycle
import UnixSignals

struct ReceiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "On a synced spool: move what other hosts pushed into the inboxes of this host's queues into new/, once each.",
        discussion: """
            Run it on each host of a synced spool for the queues the host owns (those its agents, or its \
            coordinator, consume). A sync tool (see etc/sync/) pushes other hosts' outboxes into \
            <spool>/<queue>/inbox/; each arrival is marked in <queue>/accepted/ and renamed into new/ the first \
            time its contents arrive, and removed when the same contents arrive again. Stops on SIGTERM.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: [.customShort("Q"), .customLong("queues")],
            help: ArgumentHelp("The queues this host owns, comma-separated.", valueName: "queues"))
    var queueNames: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Time between full rescans of the inboxes.", valueName: "duration"))
    var rescan: String = "5s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How long the markers of accepted files are kept.", valueName: "duration"))
    var remember: String = "7d"

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    var queues: [QueueName] {
        get throws { try queueNames.split(separator: ",").map { try QueueName(String($0)) } }
    }

    func validate() throws {
        do { _ = try queues } catch { throw ValidationError("\(error)") }
        if (try? queues)?.isEmpty != false { throw ValidationError("-Q: name at least one queue") }
        _ = try duration(rescan, "--rescan", in: 0.05...3600)
        _ = try duration(remember, "--remember", in: 60...centurySeconds)
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
    }

    func run() async throws {
        bootstrapLogging(Logger.Level(rawValue: logLevel) ?? .info)
        let spool = try options.makeSpool()
        var logger = Logger(label: "dz.receive")
        logger[metadataKey: "host"] = "\(spool.host)"
        let receiver = Receiver(spool: spool, configuration: .init(
            queues: try queues, rescanInterval: try duration(rescan, "--rescan", in: 0.05...3600),
            remember: try duration(remember, "--remember", in: 60...centurySeconds)), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: receiver, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as SpoolError {
            complain(error.description)
            throw ExitStatus.code(for: error)
        }
    }
}
