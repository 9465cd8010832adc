import ArgumentParser
import DZSpool

/// The options every command that touches a spool shares.
struct SpoolOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The spool directory (default: $DZ_SPOOL, else ./spool).", valueName: "dir"))
    var spool: String?

    @Option(name: .customLong("host-id"), help: ArgumentHelp("This host's name in claims, results and logs (default: the host name).", valueName: "id"))
    var hostID: String?

    @Flag(name: .customLong("no-fsync"), help: "Do not fsync at commit points (for tmpfs and benchmarks; unsafe on power loss).")
    var noFsync = false

    func validate() throws {
        if let hostID, (try? HostID(hostID)) == nil {
            throw ValidationError(SpoolError.invalidHostID(hostID).description)
        }
    }

    /// The spool; what a command drops into it rings the hosts serving that queue (the heartbeats are read at the
    /// first drop, not before: commands that only read never read them).
    func makeSpool() throws -> Spool {
        let host = try hostID.map { id throws(SpoolError) in try HostID(id) } ?? .local
        var made = Spool(root: Spool.rootPath(explicit: spool), host: host, sync: !noFsync)
        made.wakeups = Wakeups(spool: made, loadOnFirstRing: true)
        return made
    }
}

/// Reads a duration option (`30s`, `5m`, plain seconds) that must lie within `range` (seconds): a value from
/// outside never reaches arithmetic that could trap, nor a wait that would last for ever.
func duration(_ text: String, _ option: String, in range: ClosedRange<Double>) throws -> Double {
    if let problem = DurationText.problem(text, in: range) { throw ValidationError("\(option): \(problem)") }
    return DurationText.seconds(text)!
}

/// The longest duration any option takes where nothing smaller is natural (`gc --older-than`, `job wait
/// --timeout`): a hundred years.
let centurySeconds: Double = 100 * 366 * 86_400
