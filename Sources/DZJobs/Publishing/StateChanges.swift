import Synchronization

/// What changed in the zoomdb and must be published: marked by the coordinator's engine as it goes, handed over
/// once the change is committed (`commit()`), and taken by the `StatePublisher`'s own task. The engine never waits
/// for a document to be written.
final class StateChanges: Sendable {
    struct Marks: Sendable, Equatable {
        /// Jobs that changed, with whether they ended (an ended job's kept parts are dropped once it is
        /// published); each is written once per publisher round, however often it changed.
        var jobs: [String: Bool] = [:]
        var projects = Set<String>()
        var summary = false

        var isEmpty: Bool { jobs.isEmpty && projects.isEmpty && !summary }

        mutating func merge(_ other: Marks) {
            for (id, ended) in other.jobs { jobs[id] = (jobs[id] ?? false) || ended }
            projects.formUnion(other.projects)
            summary = summary || other.summary
        }
    }

    /// The engine's marks since its last commit (the engine's task only).
    private let local = Mutex(Marks())
    /// What was committed and waits for the publisher.
    private let committed = Mutex(Marks())
    let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init() {
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func jobChanged(_ id: String) { local.withLock { if $0.jobs[id] == nil { $0.jobs[id] = false } } }
    func jobEnded(_ id: String) { local.withLock { $0.jobs[id] = true } }
    func projectChanged(_ project: String?) { if let project { local.withLock { _ = $0.projects.insert(project) } } }
    func summaryChanged() { local.withLock { $0.summary = true } }

    /// Hands what was marked since the last commit to the publisher: called after the zoomdb transactions that
    /// made the changes have committed, so that the publisher reads them.
    func commit() {
        let marks = local.withLock { marks -> Marks in
            defer { marks = Marks() }
            return marks
        }
        guard !marks.isEmpty else { return }
        committed.withLock { $0.merge(marks) }
        signal.yield()
    }

    /// Takes what waits (the publisher's task).
    func take() -> Marks {
        committed.withLock { marks in
            defer { marks = Marks() }
            return marks
        }
    }

    /// Puts back what could not be written yet.
    func putBack(_ marks: Marks) {
        guard !marks.isEmpty else { return }
        committed.withLock { $0.merge(marks) }
    }

    /// Ends the publisher's wait for good (the coordinator stops).
    func finish() { signal.finish() }
}
