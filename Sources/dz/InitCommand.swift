import ArgumentParser
import DZSpool
import DZSystem

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the spool's standard queues, log/ and hosts/, and print the spool path.",
        discussion: """
            Directories are made mode 2770 and files 0660, whatever the umask, so that agents running as             different users share the spool through its group. --group gives the whole spool (everything in it             but zoomdb/) to that group with those modes: run it as root once, before starting agents and the             coordinator as members of the group (see SECURITY in dz(1)). Exit 64 for an unknown group.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .customLong("queue"), help: ArgumentHelp("Also create this queue (repeatable).", valueName: "queue"))
    var extraQueues: [String] = []

    @Option(name: .long, help: ArgumentHelp("Give the spool to this group, e.g. dz.", valueName: "group"))
    var group: String?

    func validate() throws {
        if let group, Host.groupID(named: group) == nil { throw ValidationError("--group: no group \(group)") }
    }

    func run() throws {
        let spool = try options.makeSpool()
        try reportingErrors { () throws(SpoolError) in
            let extra = try extraQueues.map { name throws(SpoolError) in try QueueName(name) }
            try spool.initialize(queues: QueueName.standard + extra)
            if let group, let id = Host.groupID(named: group) { try spool.share(withGroup: id) }
        }
        print(spool.root)
    }
}
