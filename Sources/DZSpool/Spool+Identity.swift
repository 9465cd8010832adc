import DZSystem
import Foundation

extension Spool {
    /// The spool's identity: a random id in `<spool>/spool.id`, made once (by `dz init` or the first coordinator)
    /// and never changed. The zoomdb records the id of the spool it belongs to, so that a coordinator started with
    /// the zoomdb of another spool (or a copy) refuses to run rather than split the jobs between two databases.
    public func identity() throws(SpoolError) -> String {
        let file = root + "/spool.id"
        if let id = readIdentity(file) { return id }
        let id = Host.randomBytes(16).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        let temporary = root + "/.spool.id." + id
        do { try SpoolModes.createFile(temporary, bytes: Array((id + "\n").utf8), sync: sync) } catch {
            throw error.at("write", temporary)
        }
        defer { try? FileSystem.unlink(temporary) }
        do {
            try FileSystem.link(temporary, file)
            syncDirectory(root)
            return id
        } catch .fileExists {
            // Another process made it first: theirs is the spool's.
        } catch {
            if readIdentity(file) == nil { throw error.at("link", file) }
        }
        guard let existing = readIdentity(file) else { throw SpoolError.notFound("a readable \(file)") }
        return existing
    }

    private func readIdentity(_ file: String) -> String? {
        guard case .contents(let bytes, _)? = try? FileIO.read(file, limit: 4096) else { return nil }
        let id = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// The spool's id if it has one, creating nothing: for commands that only read.
    public func existingIdentity() -> String? { readIdentity(root + "/spool.id") }
}
