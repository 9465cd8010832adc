import DZSystem

/// The state the coordinator publishes for every host: `<spool>/state/`, files it alone writes, each replaced
/// by one rename (written in `state/tmp/` first) so that a reader on any host sees the old file or the new one,
/// never a part. Not fsynced: the zoomdb is the truth, and the coordinator publishes again at start what a
/// power loss may have lost. The spool only moves these files; what they say is the coordinator's business.
extension Spool {
    public var statePath: String { root + "/state" }

    /// Writes `bytes` as `state/<directory>/<name>` (`directory` may be empty), replacing what was there; with the
    /// spool's modes (`SpoolModes`), so that every member of its group, on any host, may read it.
    public func publish(_ bytes: [UInt8], directory: String, name: String) throws(SpoolError) {
        let dir = directory.isEmpty ? statePath : statePath + "/" + directory
        let temporaryDirectory = statePath + "/tmp"
        for needed in [dir, temporaryDirectory] where !known.contains(needed) {
            do { try SpoolModes.makeDirectories(needed) } catch { throw error.at("mkdir", needed) }
            known.insert(needed)
        }
        var temporary = ""
        for _ in 0..<8 {
            temporary = temporaryDirectory + "/" + temporaryName(name)
            do {
                try SpoolModes.createFile(temporary, bytes: bytes, sync: false)
                break
            } catch .fileExists {
                continue
            } catch {
                throw error.at("write", temporary)
            }
        }
        let target = dir + "/" + name
        do { try FileSystem.rename(temporary, target) } catch {
            try? FileSystem.unlink(temporary)
            throw error.at("rename", target)
        }
    }

    /// The bytes of `state/<directory>/<name>`, or nil when it is not there (or larger than `limit`).
    public func published(directory: String, name: String, limit: Int = 64 << 20) -> [UInt8]? {
        let path = (directory.isEmpty ? statePath : statePath + "/" + directory) + "/" + name
        guard case .contents(let bytes, _)? = try? FileIO.read(path, limit: limit) else { return nil }
        return bytes
    }

    /// The names in `state/<directory>/` (none when it does not exist), without temporary or hidden files.
    public func publishedNames(directory: String) -> [String] {
        ((try? FileSystem.names(in: statePath + "/" + directory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// Removes `state/<directory>/<name>` if it is there.
    public func unpublish(directory: String, name: String) {
        try? FileSystem.unlink(statePath + "/" + directory + "/" + name)
    }

    /// Whether anything was ever published in this spool.
    public var hasPublishedState: Bool { FileSystem.exists(statePath) }

    /// Removes temporary files of `state/tmp/` older than an hour (a coordinator killed while writing one).
    public func purgePublishingTemporaries(olderThan: Double = 3600, now: Timestamp = .now()) {
        let dir = statePath + "/tmp"
        for name in (try? FileSystem.names(in: dir)) ?? [] {
            let file = dir + "/" + name
            guard let status = try? FileSystem.linkStatus(file), now - status.lastTouched > olderThan else { continue }
            try? FileSystem.unlink(file)
        }
    }
}
