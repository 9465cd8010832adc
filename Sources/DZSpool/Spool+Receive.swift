import DZSystem

/// What `receive` did with one arrival in a queue's inbox.
public enum ReceiveOutcome: Sendable, Equatable {
    /// Accepted for the first time and renamed into `new/`.
    case accepted(TaskID)
    /// A copy of a file this queue already accepted (a sync tool sent it again): removed, never run.
    case redelivered(TaskID)
    /// A file of the same id, but other contents, already waits in `new/`: set aside in `failed/`.
    case duplicate(TaskID)
    /// Not a task file name (a dotfile, a sync tool's temporary file): left alone.
    case ignored
    /// Gone before it could be taken (another receiver took it).
    case gone
}

/// Synced spools: each queue is consumed on one host, its owner. Other hosts' producers write into their own copy
/// of the queue's `new/` (their outbox: no agent serves the queue there), and a sync tool pushes those files into
/// the owner's `<queue>/inbox/` and removes them at the source (rsync `--remove-source-files`, which is
/// at-least-once: a push cut short after the copy and before the removal sends the file again). The owner's
/// receiver (`dz receive`) moves each arrival into `new/` exactly once per content:
///
/// 1. the arrival `inbox/<id>.json` is hard-linked as `accepted/<id>@<hash of its bytes>`: the link is exclusive,
///    so exactly one arrival of each content wins, whatever happened to the task since (claimed, retried,
///    finished, deleted by `dz gc`);
/// 2. then it is renamed into `new/` (never replacing a waiting file).
///
/// An arrival whose marker exists is a redelivery and is removed, unless the marker is the arrival itself (the same
/// inode: a receiver stopped between 1 and 2), which is then moved on. Nothing here reads `cur/`, `done/` or
/// `failed/`: the fenced completion renames claims, results and retries there on its own schedule (a retry puts
/// the same id back into `new/` while its `.retry` file is still in `cur/`, `dz requeue --failed` puts a failed id
/// back while its copy is still in `failed/`), so no look at those directories can tell a redelivery from a legal
/// return without a race. The marker is keyed by content because an id may legally arrive twice with other
/// contents: the result of a task requeued after it failed. Markers are pruned after a week (`pruneAccepted`).
extension Spool {
    /// Where a queue's owner receives the files other hosts push.
    public func inboxPath(_ queue: QueueName) -> String { path(queue) + "/inbox" }
    /// The markers of the files a queue's owner has accepted from its inbox.
    public func acceptedPath(_ queue: QueueName) -> String { path(queue) + "/accepted" }

    /// Creates the queue's inbox and marker directories (and the queue) if they are missing.
    public func createInbox(_ queue: QueueName) throws(SpoolError) {
        if !exists(queue) { try create(queue) }
        for dir in [inboxPath(queue), acceptedPath(queue)] {
            do { try FileSystem.makeDirectories(dir) } catch { throw error.at("mkdir", dir) }
        }
    }

    /// Takes every arrival now in the queue's inbox; returns what happened to each.
    public func receiveAll(_ queue: QueueName) throws(SpoolError) -> [ReceiveOutcome] {
        let dir = inboxPath(queue)
        let names: [String]
        do { names = try FileSystem.names(in: dir) } catch .noSuchFileOrDirectory { return [] } catch {
            throw error.at("list", dir)
        }
        var outcomes: [ReceiveOutcome] = []
        for name in names.sorted() {
            let outcome = try receive(name, in: queue)
            if outcome != .ignored { outcomes.append(outcome) }
        }
        return outcomes
    }

    /// Takes one arrival of the queue's inbox: into `new/` the first time its contents arrive, removed after that.
    public func receive(_ fileName: String, in queue: QueueName) throws(SpoolError) -> ReceiveOutcome {
        guard Spool.isTaskFileName(fileName) else { return .ignored }
        let source = inboxPath(queue) + "/" + fileName
        let target = path(queue, .new) + "/" + fileName
        let stem = String(fileName.dropLast(5))
        guard let id = try? TaskID(stem) else {
            // Not a valid id: new/ is where bad input is judged (and set aside with its reason).
            return try moveOn(source, to: target, queue: queue, id: nil)
        }
        let bytes: [UInt8]
        let arrival: FileStatus
        switch Result(catching: { () throws(Errno) in try FileIO.read(source, limit: TaskFile.maxSize) }) {
        case .success(.contents(let read, let status)):
            (bytes, arrival) = (read, status)
        case .success(.tooLarge), .success(.notRegular):
            return try moveOn(source, to: target, queue: queue, id: id)
        case .failure(.noSuchFileOrDirectory):
            return .gone
        case .failure(let error):
            throw error.at("read", source)
        }
        let marker = acceptedPath(queue) + "/" + stem + "@" + Spool.contentHash(bytes)
        do {
            try FileSystem.link(source, marker)
        } catch .fileExists {
            if let accepted = try? FileSystem.linkStatus(marker), accepted.inode == arrival.inode,
               accepted.device == arrival.device
            {
                // This very file was accepted by a receiver stopped before it moved it on.
                return try moveOn(source, to: target, queue: queue, id: id)
            }
            do { try FileSystem.unlink(source) } catch .noSuchFileOrDirectory { return .gone } catch {
                throw error.at("unlink", source)
            }
            audit.record("redelivered", [("queue", queue.rawValue), ("task", stem)])
            return .redelivered(id)
        } catch .noSuchFileOrDirectory {
            if !FileSystem.exists(source) { return .gone }
            try createInbox(queue)
            return try receive(fileName, in: queue)
        } catch {
            throw error.at("link", marker)
        }
        syncDirectory(acceptedPath(queue))
        return try moveOn(source, to: target, queue: queue, id: id)
    }

    /// Renames an arrival into `new/`, never over a waiting file (that one stays; the arrival goes to `failed/`).
    private func moveOn(_ source: String, to target: String, queue: QueueName, id: TaskID?) throws(SpoolError)
        -> ReceiveOutcome
    {
        let fileName = String(target.split(separator: "/").last ?? "")
        do {
            try FileSystem.renameExclusive(source, target)
        } catch .noSuchFileOrDirectory {
            return .gone
        } catch .fileExists {
            audit.record("duplicate-task", [("queue", queue.rawValue), ("task", String(fileName.dropLast(5)))])
            if let placed = try moveAside(source, as: fileName, in: queue, to: .failed) {
                writeReason(beside: placed, queue: queue, fields: [
                    ("file", fileName), ("kind", "duplicate-task"),
                    ("reason", "another file with the same id and other contents was waiting in new/; this one, "
                        + "pushed by another host, was kept aside"),
                ])
            }
            return id.map(ReceiveOutcome.duplicate) ?? .gone
        } catch {
            throw error.at("rename", source)
        }
        syncDirectory(path(queue, .new))
        audit.record("received", [("queue", queue.rawValue), ("task", String(fileName.dropLast(5)))])
        return id.map(ReceiveOutcome.accepted) ?? .ignored
    }

    /// Removes the queue's acceptance markers untouched for `olderThan` seconds (default a week): a copy pushed
    /// again after that would run again. Returns how many were removed.
    @discardableResult
    public func pruneAccepted(_ queue: QueueName, olderThan: Double = 7 * 86_400, now: Timestamp = .now()) -> Int {
        let dir = acceptedPath(queue)
        var removed = 0
        for name in (try? FileSystem.names(in: dir)) ?? [] {
            guard let status = try? FileSystem.linkStatus(dir + "/" + name), now - status.lastTouched > olderThan,
                  (try? FileSystem.unlink(dir + "/" + name)) != nil else { continue }
            removed += 1
        }
        return removed
    }

    /// 64-bit FNV-1a of `bytes`, in hex: tells contents apart (not a defence: whoever can push can drop tasks).
    static func contentHash(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let text = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
