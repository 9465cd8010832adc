import DZSpool
import DZStore
import DZSystem
import Logging

/// The periodic sweep: rescans, pending retries, deadlines, lost appservers.
extension CoordinatorEngine {
    /// Rescans both inboxes and checks step deadlines; about once a minute, purges their `tmp/` (no agent
    /// serves these queues, so nobody else does).
    func sweep() {
        guard Timestamp.now() >= intakePausedUntil else { return }
        spool.writePendingReasons()
        for queue in releasePending.sorted() {
            if (try? spool.releaseAll(queue)) != nil { releasePending.remove(queue) }
        }
        if redispatchPending {
            redispatchPending = false
            dispatch((try? db.steps(in: [.dispatching])) ?? [], checkSpool: true)
        }
        if Timestamp.now() - lastPurge > 60 {
            lastPurge = .now()
            for queue in [QueueName.results, .jobs] { spool.purgeTemporary(queue) }
        }
        for queue in [QueueName.jobs, .results] {
            setAsideUnreadableNames(in: queue)
            let names = ((try? FileSystem.names(in: spool.path(queue, .new))) ?? []).sorted()
            if let inbox {
                // Taken in by the loop in its order: results before requests.
                for name in names { inbox.appeared(name, in: queue) }
            } else {
                takeIn(names, in: queue)
            }
        }
        checkDeadlines()
        do { try startWaiting() } catch {
            logger.error("starting waiting jobs failed", metadata: ["error": "\(error)"])
        }
        if lostAppservers != nil, Timestamp.now() - lastLostCheck >= 5 {
            lastLostCheck = .now()
            do { try recoverLostAppservers() } catch {
                logger.error("checking for lost appservers failed", metadata: ["error": "\(error)"])
            }
        }
        changes.commit()
    }

    /// Submits a `recover` job for each project with instances on a lost appserver, unless one for the same

    /// project and appserver runs or was submitted within the limit (a failed recovery is tried again after
    /// that long, not in a loop).
    private func recoverLostAppservers() throws {
        guard let watch = lostAppservers else { return }
        let appservers = Set(try db.activeInstanceCounts().keys)
        let lost = watch.lost(among: appservers, heartbeats: spool.heartbeats())
        guard !lost.isEmpty else { return }
        let recent = try db.jobs(limit: 1000).filter {
            $0.kind == "recover" && ($0.state == .running || Timestamp.now() - $0.issuedAt < watch.limit)
        }
        for appserver in lost {
            for project in try db.projects(withInstancesOn: appserver) {
                guard !recent.contains(where: {
                    $0.project == project && $0.params["appserver"]?.stringValue == appserver
                }) else { continue }
                let request = JobRequest.submit(id: JobRequest.newJobID(), kind: "recover", project: project,
                                                params: ["appserver": .string(appserver)], issuedBy: "coordinator")
                try spool.drop(try request.taskFile(host: spool.host), into: .jobs)
                logger.notice("appserver lost: recovering", metadata: ["appserver": "\(appserver)",
                                                                       "project": "\(project)"])
            }
        }
    }

    /// Fails steps whose deadline passed with no final result (no agent serves the queue, or a host vanished),
    /// withdrawing or cancelling their tasks.
    func checkDeadlines() {
        let now = Timestamp.now()
        guard let overdue = try? db.steps(in: [.dispatched]).filter({ ($0.deadline ?? now) < now }) else { return }
        for var step in overdue {
            do {
                if let queue = try? QueueName(step.queue), let taken = try spool.take(step.taskID + ".json", in: queue) {
                    try spool.retire(taken, failure: BadInput("deadline", "withdrawn: past its deadline"))
                } else {
                    try spool.cancel(step.taskID, reason: "past its deadline", isJob: false)
                }
                try db.transaction {
                    step.state = .failed
                    step.errorKind = "deadline"
                    step.error = "no result by \(step.deadline?.rfc3339 ?? "its deadline")"
                    step.finished = now
                    try db.update(step)
                    try db.log(step.job, .stepEnd, "\(step.name) failed: \(step.error!)")
                    try advance(step.job)
                }
                try dispatchPending(of: step.job)
            } catch {
                logger.error("deadline handling failed", metadata: ["task": "\(step.taskID)", "error": "\(error)"])
            }
        }
    }
}
