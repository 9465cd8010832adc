import DZSystem

extension Spool {
    /// Replaces the content of a file this process holds in `cur/` with `task` (the same id): for a request whose
    /// values must not reach `done/` once recorded (`dz config set`'s secrets). Written in the queue's `tmp/` and
    /// renamed over the claim, so that the file is whole, old or new, at every instant; retire the claim afterwards
    /// as usual.
    public func rewriteClaimed(_ claim: Claim, as task: TaskFile) throws(SpoolError) {
        let temporary = try writeTemporary(task.encoded(), in: claim.queue, hint: "rewrite")
        do { try FileSystem.rename(temporary, claim.path) } catch {
            try? FileSystem.unlink(temporary)
            throw error.at("rename", claim.path)
        }
        syncDirectory(path(claim.queue, .cur))
    }

    /// Rewrites `<id>.json` in a day of the queue's `failed/` (the newest day first) as `transform` makes it, when
    /// it reads as a task file and `transform` gives a new one: for a request set aside (as poison) before it could
    /// be recorded, whose values must not stay there. False when nothing was rewritten.
    @discardableResult
    public func rewriteFailed(_ id: TaskID, in queue: QueueName, _ transform: (TaskFile) -> TaskFile?)
        throws(SpoolError) -> Bool
    {
        let failed = path(queue, .failed)
        for day in ((try? FileSystem.names(in: failed)) ?? []).sorted(by: >) {
            let file = failed + "/" + day + "/" + id.rawValue + ".json"
            guard case .contents(let bytes, _)? = try? FileIO.read(file, limit: TaskFile.maxSize) else { continue }
            guard let task = try? TaskFile(parsing: bytes, stem: id.rawValue), let rewritten = transform(task) else {
                return false
            }
            let temporary = try writeTemporary(rewritten.encoded(), in: queue, hint: "rewrite")
            do { try FileSystem.rename(temporary, file) } catch {
                try? FileSystem.unlink(temporary)
                throw error.at("rename", file)
            }
            syncDirectory(failed + "/" + day)
            return true
        }
        return false
    }
}
