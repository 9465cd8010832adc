import DZSpool
import DZStore
import DZSystem
import Logging

/// Taking files in from the `results` and `jobs` inboxes, in batches, with a pause after a failure.
extension CoordinatorEngine {
    /// Takes in one file (see `takeIn(_:in:)`).
    func handle(_ name: String, in queue: QueueName) {
        takeIn([name], in: queue)
    }

    /// Steps dispatched whose result has not come (0 when the zoomdb cannot say).
    func stepsInFlight() -> Int { (try? db.stepCount(state: .dispatched)) ?? 0 }

    /// Takes in up to `most` requests, for about `seconds` and while `more()` holds, in batches of up to
    /// `requestBatchLimit`; one at least (alone when `more()` does not hold from the start); returns the names
    /// not reached, in order.
    func takeIn(requests names: [String], upTo most: Int, for seconds: Double, while more: () -> Bool = { true })
        -> [String]
    {
        let start = Timestamp.now()
        var index = 0
        while index < names.count, index < max(most, 1) {
            let keepsUp = more()
            if index > 0, !keepsUp || Timestamp.now() - start >= seconds { break }
            let size = keepsUp ? Self.requestBatchLimit : 1
            let chunk = Array(names[index..<min(names.count, index + size, max(most, 1))])
            takeIn(chunk, in: .jobs)
            index += chunk.count
        }
        return Array(names[index...])
    }

    /// Takes in files of `queue`, in order: results in batches of up to `resultBatchLimit`, requests of up to
    /// `requestBatchLimit`, each batch in one zoomdb transaction followed by one round of drops.
    ///
    /// When an effect cannot be recorded (the zoomdb or the spool cannot be written), the files in hand go back to
    /// `new/` unchanged and intake pauses, 0.1 s doubling to 5 s: the sweep after the pause tries again, so that
    /// work moves on by itself once the fault is gone; the files of a failed batch then go one at a time until
    /// each has been taken in, so that one whose effect can never be recorded holds up no other. Names not
    /// reached during a pause are found by that sweep.
    func takeIn(_ names: [String], in queue: QueueName) {
        var rest = names[...]
        while let first = rest.first, Timestamp.now() >= intakePausedUntil, mayWrite() {
            let limit = queue == .results ? Self.resultBatchLimit : Self.requestBatchLimit
            let chunk = suspects.contains(first) ? [first] : Array(rest.prefix(limit).prefix { !suspects.contains($0) })
            rest = rest.dropFirst(chunk.count)
            intake(chunk, in: queue)
        }
    }

    /// Takes in one batch: see `takeIn(_:in:)`.
    private func intake(_ names: [String], in queue: QueueName) {
        // A name that is not UTF-8 reaches here with its bad bytes replaced, a name no file has (and one that may
        // be too long to look up, which would pause all intake): it is set aside by its bytes instead.
        var names = names
        if names.contains(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
            setAsideUnreadableNames(in: queue)
            names = names.filter { name in
                !name.unicodeScalars.contains("\u{FFFD}") || FileSystem.exists(spool.path(queue, .new) + "/" + name)
            }
            guard !names.isEmpty else { return }
        }
        // What the intake committed goes to the publisher once it is done (its next tasks dropped).
        defer { changes.commit() }
        let intakeStarted = Timestamp.now()
        defer {
            // Each file of a batch waited for the whole batch: that is its intake time.
            let seconds = Timestamp.now() - intakeStarted
            for _ in names { telemetry?.intake(queue, seconds: seconds) }
        }
        do {
            if queue == .results {
                try intakeResults(names)
            } else {
                try intakeRequests(names)
            }
            intakeBackoff = 0
            if !suspects.isEmpty { suspects.subtract(names) }
        } catch {
            if names.count > 1 {
                // Bounded: a suspect that vanished (taken in by a coordinator after this one) is never removed.
                if suspects.count > 100_000 { suspects = [] }
                suspects.formUnion(names)
            }
            intakeBackoff = min(max(0.1, intakeBackoff * 2), 5)
            intakePausedUntil = .now() + intakeBackoff
            logger.error("intake failed: the files go back, intake pauses", metadata: [
                "queue": "\(queue)", "files": "\(names.count)", "first": "\(names.first ?? "")", "error": "\(error)",
                "pause_s": "\(intakeBackoff)",
            ])
            // Nothing else is in hand (intake is one batch at a time): every claim in cur/ is one of this batch.
            do { _ = try spool.releaseAll(queue) } catch {
                logger.error("could not put the files back: trying again after the pause", metadata: ["error": "\(error)"])
                releasePending.insert(queue)
            }
        }
    }

    /// Moves the inbox's names that are not UTF-8 to `failed/` (see `Spool.rejectUnreadableNames`).
    func setAsideUnreadableNames(in queue: QueueName) {
        for name in spool.rejectUnreadableNames(in: queue) {
            logger.warning("a file name that is not UTF-8 moved to failed/", metadata: ["queue": "\(queue)", "file": "\(name)"])
        }
    }
}
