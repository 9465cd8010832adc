import ArgumentParser
import DZClient
import DZSpool

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete done/ and failed/ day directories older than a duration, old heartbeats, the published documents of jobs that ended before, and (with --logs) old audit logs.")

    @OptionGroup var options: SpoolOptions

    @Option(name: .customLong("older-than"), parsing: .unconditional, help: ArgumentHelp("Delete whole UTC days older than this (and heartbeats and tombstones this old).", valueName: "duration"))
    var olderThan: String = "30d"

    @Flag(name: .long, help: "Also delete the audit log's day files older than that (the history is kept otherwise).")
    var logs = false

    func validate() throws { _ = try duration(olderThan, "--older-than", in: 0...centurySeconds) }

    func run() throws {
        let spool = try options.makeSpool()
        let seconds = try duration(olderThan, "--older-than", in: 0...centurySeconds)
        let report = try reportingErrors { () throws(SpoolError) in try spool.collectGarbage(olderThan: seconds, logs: logs) }
        let documents = PublishedState(spool: spool).collectEndedJobs(olderThan: seconds)
        print("removed \(report.files) files in \(report.directories) day directories, \(report.heartbeats) heartbeats, \(report.tombstones) cancel tombstones, \(report.logs) log files, \(documents) job documents")
    }
}
