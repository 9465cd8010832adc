import ArgumentParser
import DZSpool
import DZSystem

struct RequeueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Take back stale claims, or put failed tasks back into new/.",
        discussion: """
            --stale takes back claims whose lease expired (attempt + 1), as any agent would. --failed puts the named \
            failed tasks (or with --all every failed task) back with attempt 1; the failed copy and its reason are \
            removed once the task waits again (the audit log keeps them).
            """)

    @OptionGroup var options: SpoolOptions

    @Flag(name: .long, help: "Take back claims whose lease expired.")
    var stale = false

    @Flag(name: .long, help: "Put failed tasks back into new/.")
    var failed = false

    @Flag(name: .long, help: "With --failed: every failed task of the queue(s).")
    var all = false

    @Option(name: .long, help: ArgumentHelp("Only this queue (default: every queue).", valueName: "queue"))
    var queue: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Clock skew allowed for --stale.", valueName: "duration"))
    var skew: String = "2s"

    @Argument(help: ArgumentHelp("Task ids (with --failed).", valueName: "id"))
    var ids: [String] = []

    func validate() throws {
        guard stale != failed else { throw ValidationError("give exactly one of --stale and --failed") }
        if failed, ids.isEmpty, !all { throw ValidationError("--failed needs task ids or --all") }
        if stale, !ids.isEmpty { throw ValidationError("--stale takes no ids") }
        if all, !ids.isEmpty { throw ValidationError("give task ids or --all, not both") }
        _ = try duration(skew, "--skew", in: 0...86400)
    }

    func run() throws {
        let spool = try options.makeSpool()
        let skewSeconds = try duration(skew, "--skew", in: 0...86400)
        let queues = try reportingErrors { () throws(SpoolError) -> [QueueName] in
            if let queue { return [try QueueName(queue)] }
            return try spool.queues()
        }
        var missing = Set(ids)
        var refusedAny = false
        for queue in queues {
            if stale {
                let actions = try reportingErrors { () throws(SpoolError) in
                    try spool.reap(queue, leaseSeconds: 30, skew: skewSeconds)
                }
                for action in actions { print("\(queue) \(action)") }
            } else {
                let outcome = try reportingErrors { () throws(SpoolError) in
                    try spool.requeueFailed(queue, ids: ids)
                }
                for id in outcome.requeued {
                    print("\(queue) \(id)")
                    missing.remove(id.rawValue)
                }
                for (id, why) in outcome.refused {
                    if case .notFound = why { continue }
                    complain("\(queue) \(id): \(why)")
                    missing.remove(id)
                    // With --all, files that never were tasks (still bad input: they stay in failed/ for good) are
                    // reported, not a failure of the command; a task that could not be put back is (exit 65).
                    if case .stillBadInput = why, all { continue }
                    refusedAny = true
                }
            }
        }
        if !missing.isEmpty {
            complain("not found among failed tasks: \(missing.sorted().joined(separator: " "))")
            throw ExitStatus.notFound
        }
        if refusedAny { throw ExitStatus.badInput }
    }
}
