import DZSpool
import DZStore
import DZSystem

extension PublishedState {
    /// Removes the documents of jobs that ended more than `seconds` ago (`dz gc`): those not rewritten for that
    /// long whose job has ended. A running job's document, however old, stays. Returns how many went.
    public func collectEndedJobs(olderThan seconds: Double, now: Timestamp = .now()) -> Int {
        var removed = 0
        let directory = spool.statePath + "/" + JobDocument.directory
        for name in spool.publishedNames(directory: JobDocument.directory) where name.hasSuffix(".json") {
            guard let status = try? FileSystem.status(directory + "/" + name), now - status.modified > seconds,
                  let document = try? job(String(name.dropLast(5))), document.job.state.isFinal else { continue }
            spool.unpublish(directory: JobDocument.directory, name: name)
            removed += 1
        }
        return removed
    }
}
