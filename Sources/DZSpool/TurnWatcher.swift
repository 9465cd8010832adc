import DZSystem
import Foundation
import Synchronization

/// Watches the `new/` of each queue while this agent holds its host's turn on it (`HostTurns`), and reports the
/// names that appear, one batch per read.
///
/// One thread per queue: it waits until the agent has a free worker (`wantsTurn`), takes the queue's lock
/// (blocking: the holder releases it or dies), starts an inotify watch and says `turnTaken` (the agent lists the
/// queue: what came before the watch is found by that listing, what comes after by the watch), then reads events
/// until the agent's workers have all been busy for `patience` seconds; then it closes the watch and releases the
/// lock, for an agent of the host that has a free worker. Without `turns` (no host-local directory, or a spool
/// without an id) it watches every queue all the time, as every agent did before.
///
/// Names come in batches (all the events of one read): a burst of drops costs one hop to the agent per read, not
/// one per name.
public final class TurnWatcher: Sendable {
    public enum Event: Sendable, Equatable {
        /// Names seen in a queue's `new/`, in the order the kernel reported them.
        case appeared(QueueName, [String])
        /// This agent now holds the queue's turn: list its `new/`.
        case turnTaken(QueueName)
        /// This agent gave the queue's turn to another of the host, which lists the queue: names of it that wait
        /// in this agent's line are that one's now.
        case turnGiven(QueueName)
        /// The kernel dropped events of the queue: rescan it.
        case overflow(QueueName)
        /// Watching or locking failed (the periodic rescan still finds every file); tried again a second later.
        case failed(QueueName, String)
    }

    private struct State {
        var stopped = false
        var watching: [ObjectIdentifier: Inotify] = [:]
        var running = 0
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let state = Mutex(State())

    /// How often a thread waiting for a free worker, or holding the turn of a busy agent, looks at the agent's
    /// workers (milliseconds).
    static let lookEvery: Int32 = 50
    /// How long the holder of an idle agent's turn waits for events before it looks again: an idle host wakes
    /// once a second per queue, not twenty times. A drop ends the wait at once; the only thing a longer wait can
    /// delay is handing the turn over when the agent became busy by a task its rescan found, by up to this.
    static let idleLook: Int32 = 1000

    /// Starts one thread per queue; events flow until `stop()`.
    public init(spool: Spool, queues: [QueueName], turns: HostTurns?, patience: Double = 0.05,
                wantsTurn: @escaping @Sendable () -> Bool)
    {
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        state.withLock { $0.running = queues.count }
        for queue in queues {
            let thread = Thread { [self] in
                watch(queue, directory: spool.path(queue, .new), turns: turns, patience: patience, wantsTurn: wantsTurn)
                let last = state.withLock { state -> Bool in
                    state.running -= 1
                    return state.running == 0
                }
                if last { continuation.finish() }
            }
            thread.name = "dz-turn"
            thread.start()
        }
        if queues.isEmpty { continuation.finish() }
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func watch(_ queue: QueueName, directory: String, turns: HostTurns?, patience: Double,
                       wantsTurn: @Sendable () -> Bool)
    {
        while !isStopped {
            var lock: FileLock?
            if let turns {
                // A busy agent does not queue for the turn: an idle one of the host gets it first.
                while !wantsTurn(), !isStopped { usleep(useconds_t(Self.lookEvery) * 1000) }
                if isStopped { return }
                do {
                    lock = try FileLock(path: turns.lockPath(queue), waiting: true)
                } catch {
                    continuation.yield(.failed(queue, "lock \(turns.lockPath(queue)): \(error)"))
                    sleep(1)
                    continue
                }
                if isStopped { return }
            }
            let inotify: Inotify
            do {
                inotify = try Inotify()
                _ = try inotify.watch(directory)
            } catch {
                continuation.yield(.failed(queue, "inotify on \(directory): \(error)"))
                sleep(1)
                continue
            }
            let key = ObjectIdentifier(inotify)
            let registered = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.watching[key] = inotify
                return true
            }
            guard registered else { return }
            defer { state.withLock { _ = $0.watching.removeValue(forKey: key) } }
            if turns != nil { continuation.yield(.turnTaken(queue)) }
            var busySince: Timestamp?
            while true {
                let idle = busySince == nil && wantsTurn()
                let timeout = turns == nil ? -1 : (idle ? Self.idleLook : Self.lookEvery)
                guard let batch = try? inotify.read(timeout: timeout) else { break }
                var names: [String] = []
                for event in batch {
                    if event.isOverflow {
                        continuation.yield(.overflow(queue))
                    } else if !event.name.isEmpty {
                        names.append(event.name)
                    }
                }
                if !names.isEmpty { continuation.yield(.appeared(queue, names)) }
                guard turns != nil else { continue }
                if wantsTurn() {
                    busySince = nil
                } else if let since = busySince {
                    // Busy for a while: an agent of the host with a free worker takes over.
                    if Timestamp.now() - since >= patience { break }
                } else {
                    busySince = .now()
                }
            }
            // The watch is closed (by deinit) before the lock goes: the next holder's listing covers the rest.
            withExtendedLifetime(lock) {}
            if isStopped { return }
            if turns != nil { continuation.yield(.turnGiven(queue)) }
        }
    }

    /// Stops every thread and ends `events`. A thread waiting for a queue's lock ends when it gets it (it then
    /// releases it at once) or when the process exits.
    public func stop() {
        let watching = state.withLock { state -> [Inotify] in
            state.stopped = true
            return Array(state.watching.values)
        }
        for inotify in watching { inotify.close() }
        continuation.finish()
    }
}
