import DZSystem

/// A file this process took out of a queue's `new/` without interpreting it (results, requests): its bytes and
/// where it lies in `cur/` now.
public struct TakenFile: Sendable {
    public let queue: QueueName
    public let fileName: String
    public let path: String
    public let bytes: [UInt8]

    public var stem: String { String(fileName.dropLast(5)) }
}

extension Spool {
    /// Takes `fileName` from the queue's `new/` into `cur/` (one rename; exactly one taker wins) and reads it.
    /// `nil` when another process took it first, or it is not a task file name. Files that are not readable
    /// regular files of at most 1 MiB are moved to `failed/` with the reason and `nil` is returned.
    public func take(_ fileName: String, in queue: QueueName) throws(SpoolError) -> TakenFile? {
        guard Spool.isTaskFileName(fileName) else { return nil }
        let stem = String(fileName.dropLast(5))
        guard TaskID.isValid(stem) else {
            _ = try rejectWaiting(fileName, in: queue, BadInput("name", "invalid id \"\(String(stem.prefix(140)))\" in the file name"))
            return nil
        }
        let source = path(queue, .new) + "/" + fileName
        let name = ClaimName.next(id: TaskID(unchecked: stem), host: host, pid: pid, leaseSeconds: 3600)
        let target = path(queue, .cur) + "/" + name.fileName
        do {
            try FileSystem.rename(source, target)
        } catch {
            if !FileSystem.exists(target) {
                if error == .noSuchFileOrDirectory { return nil }
                throw error.at("rename", source)
            }
        }
        switch readClaimed(target, kind: (try? FileSystem.linkStatus(target))?.kind ?? .regular) {
        case .success(let (bytes, _)):
            return TakenFile(queue: queue, fileName: fileName, path: target, bytes: bytes)
        case .failure(let bad):
            _ = try rejectClaimed(target, originalName: fileName, in: queue, bad, task: nil)
            return nil
        }
    }

    /// Moves a taken file to `done/`, or to `failed/` with `failure` as its reason.
    public func retire(_ taken: TakenFile, failure: BadInput? = nil) throws(SpoolError) {
        if let failure {
            _ = try rejectClaimed(taken.path, originalName: taken.fileName, in: taken.queue, failure, task: nil)
        } else {
            _ = try moveAside(taken.path, as: taken.fileName, in: taken.queue, to: .done)
        }
    }

    /// Moves a claimed task to `done/` (or `failed/` with the reason) without delivering any result: for requests
    /// whose answer is the state they change, not a result file.
    public func retire(_ claim: Claim, failure: BadInput? = nil) throws(SpoolError) {
        if let failure {
            try reject(claim, failure)
        } else {
            _ = try moveAside(claim.path, as: claim.task.id.rawValue + ".json", in: claim.queue, to: .done)
        }
    }

    /// Puts every file in the queue's `cur/` back into `new/` unchanged: for a queue with a single consumer (the
    /// coordinator's `results` and `jobs`), at its start, when every claim there is an interrupted one of a
    /// process that is gone, and after an intake failed. With `countingDeaths` (at start), each is counted as a
    /// death of its holder, and one whose holders died `poisonLimit` times is moved to `failed/` with kind
    /// `poison` instead: a file that kills the consumer every time must not stop the queue.
    public func releaseAll(_ queue: QueueName, countingDeaths: Bool = false,
                           poisonLimit: Int = Spool.defaultPoisonLimit) throws(SpoolError) -> Released
    {
        let dir = path(queue, .cur)
        let names: [String]
        do { names = try FileSystem.names(in: dir) } catch .noSuchFileOrDirectory { return Released() } catch {
            throw error.at("list", dir)
        }
        var released = Released()
        for fileName in names.sorted() {
            guard let claim = ClaimName(fileName: fileName) else { continue }
            let fields = [("queue", queue.rawValue), ("task", claim.id.rawValue),
                          ("holder", "\(claim.host.rawValue)/\(claim.pid)")]
            if countingDeaths, case let deaths = recordDeath(of: claim, in: queue), deaths >= poisonLimit {
                let message = "its holder died \(deaths) times while holding it: set aside so that it stops "
                    + "killing the coordinator"
                audit.record("poison", fields + [("deaths", String(deaths))])
                try? FileSystem.unlink(dir + "/" + claim.id.rawValue + ".deaths")
                _ = try rejectClaimed(dir + "/" + fileName, originalName: claim.id.rawValue + ".json", in: queue,
                                      BadInput("poison", message), task: nil)
                released.poisoned.append(claim.id)
                continue
            }
            try putBack(dir + "/" + fileName, fileName: claim.id.rawValue + ".json", in: queue, modified: nil)
            audit.record("released", fields)
            released.count += 1
        }
        if released.count > 0 { syncDirectory(path(queue, .new)) }
        return released
    }

    /// What `releaseAll` did.
    public struct Released: Sendable, Equatable {
        /// Files put back into `new/`.
        public var count = 0
        /// Files set aside as poison (the task ids).
        public var poisoned: [TaskID] = []
        public init() {}
    }
}
