import DZSpool
import DZSystem

/// A task a command sends straight to the proxy queue and waits for (`dz certs`): no job, so no zoomdb and no
/// coordinator in between, and nothing of its arguments (a private key) recorded anywhere but the task file,
/// which the agent rewrites without it once done.
///
/// The result comes back to a reply queue of its own, `certs` (created when missing), never to `results`, where
/// the coordinator would take it as a stray. The wait is a poll of `certs/new/<id>.json` (every 100 to 500 ms) up
/// to a deadline; the result is then retired to `certs/done/`.
public struct ProxyTaskRequest: Sendable {
    public let spool: Spool
    public let queue: QueueName
    public static let replyQueue = QueueName.certs

    public init(spool: Spool, queue: QueueName = .proxy) {
        self.spool = spool
        self.queue = queue
    }

    /// Drops `task` with `args` into the queue and returns its id.
    public func send(_ task: String, args: [String: JSONValue], timeoutSeconds: Double) throws(ClientError) -> TaskID {
        guard spool.exists(queue) else {
            throw .unavailable("the spool \(spool.root) has no \(queue) queue: run dz init, or name the proxy's "
                + "queue with --queue")
        }
        do throws(SpoolError) {
            if !spool.exists(Self.replyQueue) { try spool.create(Self.replyQueue) }
            let id = TaskID.generate(host: spool.host)
            let file = TaskFile(id: id, task: task, args: args, maxAttempts: 3, timeoutSeconds: timeoutSeconds,
                                created: .now(), replyTo: Self.replyQueue)
            try spool.drop(file, into: queue)
            return id
        } catch {
            throw .spool(error)
        }
    }

    /// Waits up to `timeout` seconds for the result of `id`, takes it and retires it.
    public func wait(for id: TaskID, timeout: Double) async throws(ClientError) -> ResultFile {
        let fileName = id.rawValue + ".json"
        let path = spool.path(Self.replyQueue, .new) + "/" + fileName
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(min(timeout, 86_400) * 1000)))
        var pause = Duration.milliseconds(100)
        while true {
            if FileSystem.exists(path) {
                let taken: TakenFile?
                do { taken = try spool.take(fileName, in: Self.replyQueue) } catch { throw .spool(error) }
                if let taken {
                    let result: ResultFile
                    do { result = try ResultFile(parsing: taken.bytes) } catch {
                        try? spool.retire(taken, failure: error)
                        throw .badInput("the result of \(id) cannot be read: \(error.message)")
                    }
                    try? spool.retire(taken)
                    return result
                }
            }
            guard clock.now < deadline else {
                throw .timedOut("no result of \(id) from the \(queue) queue within \(Int(timeout)) s: is a proxy "
                    + "agent serving it? (the task stays queued; its result will be in \(Self.replyQueue)/new/)")
            }
            do { try await Task.sleep(for: pause) } catch { throw .timedOut("interrupted while waiting for \(id)") }
            pause = min(pause * 2, .milliseconds(500))
        }
    }
}
