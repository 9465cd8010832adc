import DZSystem

/// An agent's heartbeat: `<spool>/hosts/<host-id>@<pid>.json`, rewritten every few seconds (tmp + rename),
/// removed when the agent exits cleanly. Placement and `dz status` read them.
public struct Heartbeat: Sendable, Equatable {
    public var host: HostID
    public var pid: Int32
    /// The boot of the machine the agent runs on (`/proc/sys/kernel/random/boot_id`): with the pid, whether the
    /// agent is gone, and whether two machines use one host id.
    public var bootID: String
    public var version: String
    public var queues: [QueueName]
    public var running: [String]
    public var concurrency: Int
    public var started: Timestamp
    public var updated: Timestamp
    public var loadAverage: [Double]
    public var memoryAvailable: UInt64?
    public var memoryTotal: UInt64?
    public var diskAvailable: UInt64?
    public var diskTotal: UInt64?
    public var inodesAvailable: UInt64?
    public var uptime: Double?
    /// Where this agent listens for wake-up rings (`--wake-listen`); empty when it does not.
    public var wake: [SocketAddress] = []
    /// What the agent's roles tell placement (`apps_root` of an appserver; `db_engine` and `sqlite_root` of a
    /// database host): short strings, at most 16.
    public var facts: [String: String] = [:]

    public init(host: HostID, pid: Int32, version: String, queues: [QueueName], running: [String], concurrency: Int,
                started: Timestamp, updated: Timestamp = .now())
    {
        self.host = host
        self.pid = pid
        bootID = Host.bootID
        self.version = version
        self.queues = queues
        self.running = running
        self.concurrency = concurrency
        self.started = started
        self.updated = updated
        loadAverage = []
    }

    /// Fills in load, memory, disk and uptime from this machine.
    public mutating func measure(spoolRoot: String) {
        loadAverage = Host.loadAverage()
        if let memory = Host.memory() {
            memoryAvailable = memory.available
            memoryTotal = memory.total
        }
        if let capacity = try? FileSystem.capacity(of: spoolRoot) {
            diskAvailable = capacity.bytesAvailable
            diskTotal = capacity.bytesTotal
            inodesAvailable = capacity.inodesAvailable
        }
        uptime = Host.uptime()
    }

    public var fileName: String { "\(host.rawValue)@\(pid).json" }

    public var jsonObject: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "host": .string(host.rawValue), "pid": .int(Int64(pid)), "boot_id": .string(bootID),
            "version": .string(version),
            "queues": .array(queues.map { .string($0.rawValue) }), "running": .array(running.map { .string($0) }),
            "concurrency": .int(Int64(concurrency)), "started": .string(started.rfc3339),
            "updated": .string(updated.rfc3339), "load_average": .array(loadAverage.map { .double($0) }),
        ]
        func put(_ key: String, _ value: UInt64?) { if let value { object[key] = .int(Int64(value)) } }
        put("memory_available", memoryAvailable)
        put("memory_total", memoryTotal)
        put("disk_available", diskAvailable)
        put("disk_total", diskTotal)
        put("inodes_available", inodesAvailable)
        if let uptime { object["uptime_s"] = .double(uptime) }
        if !wake.isEmpty { object["wake"] = .array(wake.map { .string($0.description) }) }
        if !facts.isEmpty { object["facts"] = .object(facts.mapValues { .string($0) }) }
        return object
    }

    public init(parsing bytes: [UInt8]) throws(BadInput) {
        guard case .object(let object)? = try? JSONValue.parse(bytes) else {
            throw BadInput("json", "not a heartbeat")
        }
        let field = FieldReader(object)
        guard let hostText = try field.string("host"), let host = try? HostID(hostText),
              let updated = try field.time("updated") else { throw BadInput("field", "heartbeat without host or time") }
        self.host = host
        pid = Int32(try field.int("pid", in: 0...Int(Int32.max)) ?? 0)
        bootID = try field.string("boot_id") ?? ""
        version = try field.string("version") ?? ""
        queues = (object["queues"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { try? QueueName($0) } }
        running = (object["running"]?.arrayValue ?? []).compactMap(\.stringValue)
        concurrency = try field.int("concurrency", in: 0...1_000_000) ?? 0
        started = try field.time("started") ?? updated
        self.updated = updated
        loadAverage = (object["load_average"]?.arrayValue ?? []).compactMap(\.doubleValue)
        memoryAvailable = object["memory_available"]?.intValue.map { UInt64(max(0, $0)) }
        memoryTotal = object["memory_total"]?.intValue.map { UInt64(max(0, $0)) }
        diskAvailable = object["disk_available"]?.intValue.map { UInt64(max(0, $0)) }
        diskTotal = object["disk_total"]?.intValue.map { UInt64(max(0, $0)) }
        inodesAvailable = object["inodes_available"]?.intValue.map { UInt64(max(0, $0)) }
        uptime = object["uptime_s"]?.doubleValue
        wake = Heartbeat.wakeAddresses(object["wake"])
        for (key, value) in (object["facts"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }).prefix(16) {
            if let text = value.stringValue, key.utf8.count <= 64, text.utf8.count <= 4096 { facts[key] = text }
        }
    }

    /// The wake-up addresses a heartbeat or a lease file lists: at most 8 `ADDRESS:PORT` strings; others are
    /// left out.
    static func wakeAddresses(_ value: JSONValue?) -> [SocketAddress] {
        (value?.arrayValue ?? []).prefix(8).compactMap { item in
            item.stringValue.flatMap { try? SocketAddress(parsing: $0, defaultPort: 0) }.flatMap { $0.port > 0 ? $0 : nil }
        }
    }
}

extension Spool {
    /// Writes an agent's heartbeat file atomically.
    public func write(_ heartbeat: Heartbeat) throws(SpoolError) {
        let dir = hostsPath
        let temporary = dir + "/." + heartbeat.fileName + ".tmp"
        let bytes = JSONValue.object(heartbeat.jsonObject).serialized() + [0x0A]
        try? FileSystem.unlink(temporary)
        do {
            try SpoolModes.createFile(temporary, bytes: bytes, sync: false)
        } catch .noSuchFileOrDirectory {
            do { try SpoolModes.makeDirectories(dir) } catch { throw error.at("mkdir", dir) }
            do { try SpoolModes.createFile(temporary, bytes: bytes, sync: false) } catch {
                throw error.at("write", temporary)
            }
        } catch {
            throw error.at("write", temporary)
        }
        do { try FileSystem.rename(temporary, dir + "/" + heartbeat.fileName) } catch {
            throw error.at("rename", temporary)
        }
    }

    /// Removes an agent's heartbeat file (clean exit).
    public func removeHeartbeat(host: HostID, pid: Int32) {
        try? FileSystem.unlink(hostsPath + "/\(host.rawValue)@\(pid).json")
    }

    /// Whether the heartbeat is of an agent known to be gone: one of this host id and this very boot whose process
    /// no longer exists. (One of another boot may be this machine's before a reboot, or another machine's that
    /// shares the id: see `conflictingHeartbeats`.)
    public func isGone(_ beat: Heartbeat) -> Bool {
        guard beat.host == host, !beat.bootID.isEmpty else { return false }
        return beat.bootID == Host.bootID ? !Host.isAlive(pid: beat.pid) : false
    }

    /// Removes the heartbeats of this host id's agents that are gone (killed: a clean exit removes its own), so
    /// that nobody takes them for live ones until `dz gc`. Returns how many.
    @discardableResult
    public func pruneDeadHeartbeats() -> Int {
        var pruned = 0
        for beat in heartbeats() where isGone(beat) {
            removeHeartbeat(host: beat.host, pid: beat.pid)
            audit.record("heartbeat-pruned", [("pid", String(beat.pid))])
            pruned += 1
        }
        return pruned
    }

    /// Fresh heartbeats (renewed within `freshness` seconds) of this host id written on another boot id: another
    /// machine uses the same host id, which breaks the judgement of dead holders. Empty when all is well.
    public func conflictingHeartbeats(freshness: Double = 30, now: Timestamp = .now()) -> [Heartbeat] {
        heartbeats().filter { beat in
            beat.host == host && !beat.bootID.isEmpty && beat.bootID != Host.bootID && now - beat.updated < freshness
        }
    }

    /// Every heartbeat in the spool, newest first.
    public func heartbeats() -> [Heartbeat] {
        guard let names = try? FileSystem.names(in: hostsPath) else { return [] }
        return names.filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.compactMap { name in
            guard case .contents(let bytes, _)? = try? FileIO.read(hostsPath + "/" + name, limit: 1 << 20) else {
                return nil
            }
            return try? Heartbeat(parsing: bytes)
        }.sorted { $0.updated > $1.updated }
    }
}
