import DZSpool
import DZSystem
import Foundation
import Logging
import ServiceLifecycle

/// The owner's side of a synced spool (`dz receive`): moves what other hosts pushed into the inboxes of the queues
/// this host owns into their `new/`, once per content (see `Spool.receive`).
///
/// The sync tool writes into the inbox on this host, so inotify sees each arrival as it is renamed into place and
/// the file is taken at once; a periodic rescan takes what arrived while the receiver was down or what inotify
/// dropped. Markers older than `remember` are pruned once an hour.
public struct Receiver: Service {
    public struct Configuration: Sendable {
        public var queues: [QueueName]
        public var rescanInterval: Double
        public var remember: Double

        public init(queues: [QueueName], rescanInterval: Double = 5, remember: Double = 7 * 86_400) {
            self.queues = queues
            self.rescanInterval = rescanInterval
            self.remember = remember
        }
    }

    enum Wake: Sendable {
        case arrived(QueueName, String)
        case rescan
    }

    let spool: Spool
    let configuration: Configuration
    let logger: Logger

    public init(spool: Spool, configuration: Configuration, logger: Logger) {
        self.spool = spool
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        for queue in configuration.queues {
            do { try spool.createInbox(queue) } catch { throw error }
        }
        let inotify: Inotify
        do { inotify = try Inotify() } catch {
            throw SpoolError.system(error, operation: "inotify_init1", path: spool.root)
        }
        var watches: [Int32: QueueName] = [:]
        for queue in configuration.queues {
            do { watches[try inotify.watch(spool.inboxPath(queue))] = queue } catch {
                throw SpoolError.system(error, operation: "inotify_add_watch", path: spool.inboxPath(queue))
            }
        }
        let (wakes, continuation) = AsyncStream.makeStream(of: Wake.self, bufferingPolicy: .unbounded)
        let reader = Thread { [inotify, watches, continuation] in
            while true {
                guard let batch = try? inotify.read() else { break }
                for event in batch {
                    if event.isOverflow {
                        continuation.yield(.rescan)
                    } else if let queue = watches[event.watch], !event.name.isEmpty {
                        continuation.yield(.arrived(queue, event.name))
                    }
                }
            }
        }
        reader.name = "dz-receive-inotify"
        reader.start()
        let interval = configuration.rescanInterval
        let ticker = Task {
            while !Task.isCancelled {
                continuation.yield(.rescan)
                try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            }
        }
        spool.audit.record("receiver-started", [("queues", configuration.queues.map(\.rawValue).joined(separator: ","))])
        logger.info("receiver started", metadata: ["queues": "\(configuration.queues.map(\.rawValue).joined(separator: ","))"])
        await cancelWhenGracefulShutdown {
            var lastPrune = ContinuousClock.now - .seconds(3600)
            for await wake in wakes {
                if Task.isCancelled { break }
                switch wake {
                case .arrived(let queue, let name):
                    take { () throws(SpoolError) in [try spool.receive(name, in: queue)] }
                case .rescan:
                    for queue in configuration.queues { take { () throws(SpoolError) in try spool.receiveAll(queue) } }
                    if ContinuousClock.now - lastPrune > .seconds(3600) {
                        lastPrune = ContinuousClock.now
                        for queue in configuration.queues {
                            spool.pruneAccepted(queue, olderThan: configuration.remember)
                        }
                    }
                }
            }
        }
        ticker.cancel()
        inotify.close()
        continuation.finish()
        spool.audit.record("receiver-stopped")
    }

    /// Runs one intake step; an error is logged and the file is tried again at the next rescan.
    private func take(_ body: () throws(SpoolError) -> [ReceiveOutcome]) {
        do {
            for outcome in try body() {
                switch outcome {
                case .redelivered(let id): logger.notice("redelivered copy dropped", metadata: ["task": "\(id)"])
                case .duplicate(let id): logger.warning("duplicate id set aside", metadata: ["task": "\(id)"])
                default: break
                }
            }
        } catch {
            logger.error("receive failed", metadata: ["error": "\(error)"])
        }
    }
}
