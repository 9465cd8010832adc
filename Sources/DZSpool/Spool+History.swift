import DZSystem

/// A task's or job's history: its audit lines from every host, in time order, and where its files are now.
public struct History: Sendable {
    public var lines: [String]
    public var locations: [String]
}

extension Spool {
    /// Gathers the audit lines that name `id` as task or job, and the spool paths of files named after it.
    public func history(of id: String) -> History {
        var matches: [(String, String)] = []
        for hostDir in (try? FileSystem.names(in: logPath)) ?? [] {
            let dir = logPath + "/" + hostDir
            for file in (try? FileSystem.names(in: dir)) ?? [] where file.hasSuffix(".log") {
                guard let bytes = try? FileIO.readAll(dir + "/" + file), bytes.count > 0 else { continue }
                let text = String(decoding: bytes, as: UTF8.self)
                for line in text.split(separator: "\n") where line.contains(id) {
                    let pairs = Logfmt.parse(line)
                    let named = pairs.contains { ($0.0 == "task" || $0.0 == "job") && $0.1 == id }
                    if named { matches.append((pairs.first { $0.0 == "ts" }?.1 ?? "", String(line))) }
                }
            }
        }
        matches.sort { $0.0 < $1.0 }
        return History(lines: matches.map(\.1), locations: locations(of: id))
    }

    /// Whether the task `id` waits in the queue's `new/` or is claimed in its `cur/`: two cheap looks, unlike
    /// `locations(of:)`, which reads every day directory.
    public func isPending(_ id: String, in queue: QueueName) -> Bool {
        if FileSystem.exists(path(queue, .new) + "/" + id + ".json") { return true }
        let claimed = (try? FileSystem.names(in: path(queue, .cur))) ?? []
        return claimed.contains { $0.hasPrefix(id + "@") }
    }

    /// Every file in the spool's queues whose name is `id`'s: waiting, claimed, done, failed, and results.
    public func locations(of id: String) -> [String] {
        var found: [String] = []
        func named(_ name: String) -> Bool {
            name == id + ".json" || name.hasPrefix(id + "@") || name.hasPrefix(id + "~") || name == id + ".json.reason"
        }
        for queue in (try? queues()) ?? [] {
            for stage in [Stage.new, .cur] {
                for name in (try? FileSystem.names(in: path(queue, stage))) ?? [] where named(name) {
                    found.append(relative(path(queue, stage) + "/" + name))
                }
            }
            for stage in [Stage.done, .failed] {
                for day in ((try? FileSystem.names(in: path(queue, stage))) ?? []).sorted() {
                    let dir = path(queue, stage) + "/" + day
                    for name in (try? FileSystem.names(in: dir)) ?? [] where named(name) {
                        found.append(relative(dir + "/" + name))
                    }
                }
            }
        }
        return found.sorted()
    }
}
