import ArgumentParser
import DZSpool

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the spool's standard queues, log/ and hosts/, and print the spool path.")

    @OptionGroup var options: SpoolOptions

    @Option(name: .customLong("queue"), help: ArgumentHelp("Also create this queue (repeatable).", valueName: "queue"))
    var extraQueues: [String] = []

    func run() throws {
        let spool = try options.makeSpool()
        try reportingErrors { () throws(SpoolError) in
            let extra = try extraQueues.map { name throws(SpoolError) in try QueueName(name) }
            try spool.initialize(queues: QueueName.standard + extra)
        }
        print(spool.root)
    }
}
