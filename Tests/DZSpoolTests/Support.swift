import DZSpool
import DZSystem
import Foundation

/// A spool in a fresh temporary directory, with standard queues; `remove()` deletes it.
struct TemporarySpool {
    let spool: Spool

    init(host: String = "test-host", pid: Int32 = Host.pid, sync: Bool = false) throws {
        var template = Array("/tmp/dz-spool-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        spool = Spool(root: root, host: try HostID(host), pid: pid, sync: sync)
        try spool.initialize()
    }

    /// Another process's view of the same spool.
    func other(host: String, pid: Int32) throws -> Spool {
        Spool(root: spool.root, host: try HostID(host), pid: pid, sync: false)
    }

    func remove() { try? FileManager.default.removeItem(atPath: spool.root) }

    func names(_ queue: String, _ stage: Spool.Stage) -> [String] {
        ((try? FileSystem.names(in: spool.root + "/" + queue + "/" + stage.rawValue)) ?? []).sorted()
    }

    /// Files under a stage's day directories, without `.reason` sidecars.
    func settled(_ queue: String, _ stage: Spool.Stage) -> [String] {
        var found: [String] = []
        for day in names(queue, stage) {
            let dir = spool.root + "/" + queue + "/" + stage.rawValue + "/" + day
            found += ((try? FileSystem.names(in: dir)) ?? []).filter { !$0.hasSuffix(".reason") }
        }
        return found.sorted()
    }

    func reason(_ queue: String, _ stage: Spool.Stage, _ name: String) -> String? {
        for day in names(queue, stage) {
            let path = spool.root + "/" + queue + "/" + stage.rawValue + "/" + day + "/" + name + ".reason"
            if let bytes = try? FileIO.readAll(path) { return String(decoding: bytes, as: UTF8.self) }
        }
        return nil
    }

    func write(_ queue: String, _ name: String, _ text: String, age: Double = 3600) throws {
        let path = spool.root + "/" + queue + "/new/" + name
        try FileIO.create(path, bytes: Array(text.utf8), sync: false)
        try FileSystem.touch(path, modified: .now() + -age)
    }

    func auditLines() -> [String] {
        var lines: [String] = []
        for host in (try? FileSystem.names(in: spool.logPath)) ?? [] {
            for file in (try? FileSystem.names(in: spool.logPath + "/" + host)) ?? [] {
                let bytes = (try? FileIO.readAll(spool.logPath + "/" + host + "/" + file)) ?? []
                lines += String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
            }
        }
        return lines
    }
}

let build = try! QueueName("build")

func noop(_ id: String, _ args: [String: JSONValue] = [:]) -> TaskFile {
    TaskFile(id: try! TaskID(id), task: "noop", args: args, backoffSeconds: 0)
}
