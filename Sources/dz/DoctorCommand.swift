import ArgumentParser
import DZDoctor
import DZSpool
import DZSystem
import Foundation

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host's setup for a spool shared with or synced to other hosts, and say what is wrong.",
        discussion: """
            Checks the spool's file system (NFS: hard, lookupcache=positive or none, a short acdirmax), this host's \
            clock and every live agent's against the spool's file server, a host id used by two machines, a queue \
            consumed on two hosts of a synced spool, the agents' user's permissions on the spool, and the zoomdb's \
            file system. Prints one line per finding (ok, warning, problem) and exits 0 when no check found a \
            problem, 1 when one did, 69 without a spool directory.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The user the agents run as (default: this command's user).", valueName: "name"))
    var user: String?

    @Option(name: .long, help: ArgumentHelp("The zoomdb, on the coordinator's host (default: $DZ_DB, else <spool>/zoomdb/zoomdb.sqlite3 when it exists).", valueName: "file"))
    var db: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "Whether the spool is synced, not shared (default: synced when a queue has an inbox/).")
    var synced: Bool?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("The clock skew the agents allow (their --skew).", valueName: "duration"))
    var skew: String = "2s"

    @Flag(name: .long, help: "Print only warnings and problems.")
    var quiet = false

    func validate() throws { _ = try duration(skew, "--skew", in: 0...3600) }

    func run() throws {
        let spool = try options.makeSpool()
        var account: UserAccount?
        if let user {
            guard let found = UserAccount.named(user) else {
                complain("no user \(user)")
                throw ExitStatus.usage
            }
            account = found
        }
        let mounts: MountTable
        do { mounts = try MountTable.current() } catch {
            complain("cannot read /proc/self/mountinfo: \(error)")
            throw ExitStatus.systemFailure
        }
        let zoomdb = db ?? ProcessInfo.processInfo.environment["DZ_DB"].flatMap { $0.isEmpty ? nil : $0 }
        let doctor = Doctor(Doctor.Settings(spool: spool, user: account, zoomdb: zoomdb, synced: synced,
                                            skewLimit: try duration(skew, "--skew", in: 0...3600)),
                            mounts: mounts)
        let findings = doctor.run()
        for finding in findings where !quiet || finding.severity != .ok { print(finding) }
        guard (try? FileSystem.status(spool.root))?.isDirectory == true else { throw ExitStatus.unavailable }
        if Doctor.worst(findings) == .problem { throw ExitStatus.notFound }
    }
}
