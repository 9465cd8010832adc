import DZSystem
import Foundation

/// Watches the `new/` directory of each queue with inotify and reports the names that appear.
///
/// inotify sees renames (`mv`, claims put back), finished writes (`cp`) and new links (`ln`, dz's own drops) made
/// on this host; it is blind to files other NFS clients or sync tools create, so the owner also rescans
/// periodically. `overflow` means the kernel dropped events: rescan everything.
public final class QueueWatcher: Sendable {
    public enum Event: Sendable, Equatable {
        case appeared(QueueName, String)
        case overflow
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let inotify: Inotify
    private let queuesByWatch: [Int32: QueueName]

    /// Starts watching; events flow until `stop()`.
    public init(spool: Spool, queues: [QueueName]) throws(SpoolError) {
        let inotify: Inotify
        do { inotify = try Inotify() } catch { throw error.at("inotify_init1", spool.root) }
        var map: [Int32: QueueName] = [:]
        for queue in queues {
            let dir = spool.path(queue, .new)
            do { map[try inotify.watch(dir)] = queue } catch { throw error.at("inotify_add_watch", dir) }
        }
        self.inotify = inotify
        queuesByWatch = map
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        let reader = Thread { [inotify, map, continuation] in
            while true {
                guard let batch = try? inotify.read() else { break }
                for event in batch {
                    if event.isOverflow {
                        continuation.yield(.overflow)
                    } else if let queue = map[event.watch], !event.name.isEmpty {
                        continuation.yield(.appeared(queue, event.name))
                    }
                }
            }
            continuation.finish()
        }
        reader.name = "dz-inotify"
        reader.start()
    }

    /// Stops the reader thread and ends `events`.
    public func stop() {
        inotify.close()
    }
}
