import DZSystem

extension Spool {
    /// Counts one more death of a process that held task `claim.id` of `queue`, in `cur/<id>.deaths` (one logfmt
    /// line: the count, the last holder, when), and returns the new count. The count outlives the claims: the
    /// task may be claimed again, by any host, and die again. Written before the task's file is read again, since
    /// reading it may be what kills. When the count cannot be written (a full disk), the death still counts for
    /// this reaper's decision.
    func recordDeath(of claim: ClaimName, in queue: QueueName) -> Int {
        let file = path(queue, .cur) + "/" + claim.id.rawValue + ".deaths"
        var deaths = 0
        if case .contents(let bytes, _)? = try? FileIO.read(file, limit: 4096) {
            let line = String(decoding: bytes, as: UTF8.self)
            deaths = Logfmt.parse(Substring(line)).first { $0.0 == "deaths" }.flatMap { Int($0.1) } ?? 0
        }
        deaths = min(deaths, 1_000_000) + 1
        let line = "deaths=\(deaths) task=\(claim.id.rawValue) holder=\(claim.host.rawValue)/\(claim.pid) "
            + "ts=\(Timestamp.now().rfc3339)\n"
        if let temporary = try? writeTemporary(Array(line.utf8), in: queue, hint: "deaths") {
            if (try? FileSystem.rename(temporary, file)) == nil { try? FileSystem.unlink(temporary) }
        }
        audit.record("holder-died", [("queue", queue.rawValue), ("task", claim.id.rawValue),
                                     ("holder", "\(claim.host.rawValue)/\(claim.pid)"), ("deaths", String(deaths))])
        return deaths
    }
}
