import DZSystem

extension Spool {
    /// Whether a name in `new/` is one dz considers at all: not a dotfile (sync tools' and NFS's `.nfsXXXX`),
    /// ending in `.json`.
    public static func isTaskFileName(_ name: String) -> Bool {
        !name.hasPrefix(".") && name.hasSuffix(".json") && name.count > 5
    }

    /// Claims `fileName` in the queue's `new/` with a lease of `leaseSeconds`, reads and checks it.
    ///
    /// The claim is a rename into `cur/` under a name that shows this host, pid and lease; exactly one claimer
    /// wins. A file that does not parse yet but was modified less than `settle` seconds ago is put back (a copy may
    /// still be under way); after that it is bad input and goes to `failed/` with the reason.
    ///
    /// The claim is logged (`claimed`) unless `logged` is false: then the caller logs `claimedEvent(claim)`
    /// itself, with what it does next in the same write.
    public func claim(
        _ fileName: String, in queue: QueueName, leaseSeconds: Int, settle: Double = 10, now: Timestamp = .now(),
        logged: Bool = true
    ) throws(SpoolError) -> ClaimOutcome {
        guard Spool.isTaskFileName(fileName) else { return .ignored }
        let source = path(queue, .new) + "/" + fileName
        let before: FileStatus
        do { before = try FileSystem.linkStatus(source) } catch .noSuchFileOrDirectory { return .lost } catch {
            throw error.at("stat", source)
        }
        if before.kind == .regular, Spool.isDeferred(before.modified, now: now) { return .notDue(before.modified) }

        let stem = String(fileName.dropLast(5))
        guard TaskID.isValid(stem) else {
            let bad = BadInput("name", "invalid task id \"\(String(stem.prefix(140)))\" in the file name: use [A-Za-z0-9._-], 1 to 128 characters, not starting with a dot")
            return try rejectWaiting(fileName, in: queue, bad)
        }
        switch before.kind {
        case .directory, .other:
            let what = before.kind == .directory ? "a directory" : "not a regular file"
            return try rejectWaiting(fileName, in: queue, BadInput("not-a-file", "\(fileName) is \(what)"))
        case .regular, .symbolicLink:
            break
        }

        // A symbolic link is resolved where it was dropped: a relative target means relative to new/.
        let linkTarget = before.kind == .symbolicLink ? try? FileSystem.resolve(source) : nil
        let name = ClaimName.next(id: TaskID(unchecked: stem), host: host, pid: pid, leaseSeconds: leaseSeconds)
        let claimPath = path(queue, .cur) + "/" + name.fileName
        do {
            try FileSystem.rename(source, claimPath)
        } catch {
            // ENOENT is the normal sign of a lost race; but NFS may report a rename that happened as failed,
            // so our own target name decides.
            if !FileSystem.exists(claimPath) {
                if error == .noSuchFileOrDirectory { return .lost }
                throw error.at("rename", source)
            }
        }

        let bytes: [UInt8]
        let status: FileStatus
        switch readClaimed(claimPath, kind: before.kind, resolved: linkTarget) {
        case .success(let read):
            (bytes, status) = read
        case .failure(let bad):
            return try rejectClaimed(claimPath, originalName: fileName, in: queue, bad, task: nil)
        }

        let task: TaskFile
        do {
            task = try TaskFile(parsing: bytes, stem: stem)
        } catch {
            // A modification time further ahead than any deferral is a clock or a touch gone wrong, not a copy
            // under way: such a file is judged now, or it would wait for that time (centuries, perhaps).
            let settlesAt = status.modified + settle
            if settlesAt > now, status.modified <= now + TaskLimits.maxDeferralSeconds {
                try putBack(claimPath, fileName: fileName, in: queue, modified: nil)
                return .unsettled(settlesAt, seen: FileFingerprint(status))
            }
            return try rejectClaimed(claimPath, originalName: fileName, in: queue, error, task: nil)
        }

        if task.replyTo == queue || task.replyTo == .jobs {
            return try rejectClaimed(claimPath, originalName: fileName, in: queue, BadInput(
                "field", "reply_to \"\(task.replyTo)\" would have the task's result claimed and run as a task"),
                task: task)
        }
        if let notBefore = task.notBefore, notBefore > now + TaskLimits.maxDeferralSeconds {
            return try rejectClaimed(claimPath, originalName: fileName, in: queue, BadInput(
                "field", "not_before \(notBefore.rfc3339) is more than a year ahead"), task: task)
        }
        if let notBefore = task.notBefore, notBefore > now + 0.001 {
            markDeferred(claimPath, bytes: bytes, in: queue, until: notBefore)
            try putBack(claimPath, fileName: fileName, in: queue, modified: notBefore)
            audit.record("deferred", [("queue", queue.rawValue), ("task", stem), ("not_before", notBefore.rfc3339)])
            return .notDue(notBefore)
        }
        // rename keeps the old mtime but sets the change time: the lease counts from the claim (see
        // FileStatus.lastTouched), with no touch needed.
        let claim = Claim(queue: queue, name: name, task: task, path: claimPath, claimed: now)
        if logged {
            let event = claimedEvent(claim)
            audit.record(event.event, event.fields)
        }
        return .claimed(claim)
    }

    /// The audit event of a claim.
    public func claimedEvent(_ claim: Claim) -> (event: String, fields: [(String, String?)]) {
        let task = claim.task
        return ("claimed", [("queue", claim.queue.rawValue), ("task", task.id.rawValue), ("name", task.task),
                            ("job", task.job), ("step", task.step), ("attempt", String(task.attempt))])
    }

    /// Reads a claimed file: a regular file of at most 1 MiB, or a symbolic link to one inside the spool.
    func readClaimed(_ claimPath: String, kind: FileStatus.Kind, resolved: String? = nil)
        -> Result<([UInt8], FileStatus), BadInput>
    {
        var readPath = claimPath
        if kind == .symbolicLink {
            guard let target = resolved ?? (try? FileSystem.resolve(claimPath)) else {
                return .failure(BadInput("symlink", "symbolic link to a missing file"))
            }
            let spoolRoot = (try? FileSystem.resolve(root)) ?? root
            guard target.hasPrefix(spoolRoot + "/") else {
                return .failure(BadInput("symlink", "symbolic link to \(target), outside the spool"))
            }
            readPath = target
        }
        switch Result(catching: { () throws(Errno) in try FileIO.read(readPath, limit: TaskFile.maxSize) }) {
        case .success(.contents(let bytes, let status)):
            return .success((bytes, status))
        case .success(.tooLarge(let size)):
            return .failure(BadInput("too-large", "the file is \(size) bytes, over the limit of \(TaskFile.maxSize)"))
        case .success(.notRegular):
            return .failure(BadInput("not-a-file", "not a regular file"))
        case .failure(let errno):
            return .failure(BadInput("unreadable", "cannot read: \(errno.description)"))
        }
    }

    /// Whether a file in `new/` modified at `modified` waits for a later time: its mtime is in the future, but not
    /// so far (more than `TaskLimits.maxDeferralSeconds`) that only a clock or a `touch` gone wrong explains it.
    public static func isDeferred(_ modified: Timestamp, now: Timestamp) -> Bool {
        modified > now + 0.5 && modified <= now + TaskLimits.maxDeferralSeconds
    }

    /// Renames a claim back to `new/` under its original name, never replacing a file there. A claim already gone
    /// (taken back by a reaper) is not an error.
    @discardableResult
    func putBack(_ claimPath: String, fileName: String, in queue: QueueName, modified: Timestamp?) throws(SpoolError)
        -> Bool
    {
        let target = path(queue, .new) + "/" + fileName
        do {
            try FileSystem.renameExclusive(claimPath, target)
        } catch .noSuchFileOrDirectory {
            return false
        } catch .fileExists {
            // Someone dropped another task with this id meanwhile: the one waiting stays, this one goes aside.
            _ = try rejectClaimed(claimPath, originalName: fileName, in: queue,
                                  BadInput("duplicate", "a task with the same id was dropped while this one was held"),
                                  task: nil)
        } catch {
            if FileSystem.exists(claimPath) { throw error.at("rename", claimPath) }
        }
        return true
    }

    /// Gives a deferred task's file its `not_before` as its mtime, the time at which every scan takes it as due,
    /// so that no agent claims it again before then (and the rename back into `new/` wakes no agent into a claim
    /// and put-back loop). Setting a time needs the file's owner: a task another member of the spool's group
    /// dropped is first written anew, as this process's file, over its claimed name; the claim is this
    /// process's, so nothing else reads or moves that name meanwhile. So is a symbolic link (scans judge a
    /// link's own time, which no touch sets). When that fails too (a full disk), the file goes back with its old
    /// time and is claimed and deferred again at a later scan.
    func markDeferred(_ claimPath: String, bytes: [UInt8], in queue: QueueName, until notBefore: Timestamp) {
        if (try? FileSystem.linkStatus(claimPath))?.kind != .symbolicLink {
            do {
                try FileSystem.touch(claimPath, modified: notBefore)
                return
            } catch .notPermitted {
                // Another user's file: written anew below.
            } catch {
                return
            }
        }
        guard let copy = try? writeTemporary(bytes, in: queue, hint: "deferred") else { return }
        do {
            try FileSystem.touch(copy, modified: notBefore)
            try FileSystem.rename(copy, claimPath)
        } catch {
            try? FileSystem.unlink(copy)
        }
    }

    /// The size and mtime of a waiting file, or nil when it is gone.
    public func fingerprint(_ fileName: String, in queue: QueueName) -> FileFingerprint? {
        (try? FileSystem.linkStatus(path(queue, .new) + "/" + fileName)).map(FileFingerprint.init)
    }

    /// Renews the lease on a claim (touch); `false` when the claim is gone (the lease expired and another agent
    /// took the task).
    public func renew(_ claim: Claim) -> Bool {
        do {
            try FileSystem.touch(claim.path)
            return true
        } catch .noSuchFileOrDirectory {
            // Committed by this holder a moment ago (renamed to `<stem>.ok` ...): still its own, being completed.
            let dir = path(claim.queue, .cur) + "/"
            return ClaimName.Outcome.allCases.contains { FileSystem.exists(dir + claim.name.committedName($0)) }
        } catch {
            return true
        }
    }
}
