import DZSpool
import DZSystem
import Foundation

/// The build users of a root build agent: one uid per project, allocated on the project's first build on this host
/// and kept, so that its caches stay its own from one build to the next.
///
/// The uids have no name in `/etc/passwd` (nothing on the host needs one; the sandbox shows its own passwd file)
/// and come from a range far above the ones `useradd` and container managers hand out,
/// 1,800,000,000 to 1,800,999,999, group id equal to user id. Allocation is never derived from the project's name
/// (two names cannot share a uid): in `<data>/build-users/` (mode 0700, root's), the file `uid-<uid>` names the
/// project that took the uid, created with `O_EXCL` so that two builds at once never take the same one, and the
/// file `<project>` holds the project's uid, made by `link` so that the first of two allocations for the same
/// project wins and the other reads it.
struct BuildUsers: Sendable {
    static let firstUID: UInt32 = 1_800_000_000
    static let lastUID: UInt32 = 1_800_999_999

    let directory: String

    init(workspace: Workspace) { directory = workspace.root + "/build-users" }

    /// The project's uid, allocated if it has none.
    func uid(for project: ProjectID) throws(BuildError) -> UInt32 {
        if let known = try recorded(project) { return known }
        do {
            try FileSystem.makeDirectories(directory, mode: 0o700)
            try FileSystem.setMode(directory, 0o700)
        } catch {
            throw BuildError("filesystem", "cannot create \(directory): \(error)")
        }
        let names = (try? FileSystem.names(in: directory)) ?? []
        let taken = names.compactMap { $0.hasPrefix("uid-") ? UInt32($0.dropFirst(4)) : nil }
        var candidate = max(Self.firstUID, (taken.max() ?? Self.firstUID - 1) &+ 1)
        while true {
            guard candidate <= Self.lastUID else {
                throw BuildError("filesystem", "no build uid left in \(Self.firstUID)-\(Self.lastUID) (\(directory))")
            }
            do {
                try FileIO.create(directory + "/uid-\(candidate)", bytes: Array((project.rawValue + "\n").utf8),
                                  mode: 0o600, sync: true)
                break
            } catch .fileExists {
                candidate += 1
            } catch {
                throw BuildError("filesystem", "cannot allocate a build uid in \(directory): \(error)")
            }
        }
        let staged = directory + "/.\(project.rawValue).\(Host.pid).\(candidate)"
        defer { try? FileSystem.unlink(staged) }
        do {
            try FileIO.create(staged, bytes: Array("\(candidate)\n".utf8), mode: 0o600, sync: true)
            try FileSystem.link(staged, directory + "/" + project.rawValue)
            try FileSystem.syncDirectory(directory)
        } catch .fileExists {
            // Another build of the same project allocated at the same moment: its uid is the project's.
            try? FileSystem.unlink(directory + "/uid-\(candidate)")
            if let known = try recorded(project) { return known }
            throw BuildError("filesystem", "\(directory)/\(project.rawValue) is not a build uid")
        } catch {
            throw BuildError("filesystem", "cannot record the build uid of \(project) in \(directory): \(error)")
        }
        return candidate
    }

    /// The uid recorded for `project`, nil when there is none.
    private func recorded(_ project: ProjectID) throws(BuildError) -> UInt32? {
        let path = directory + "/" + project.rawValue
        let outcome: FileIO.ReadOutcome
        do {
            outcome = try FileIO.read(path, limit: 64)
        } catch .noSuchFileOrDirectory {
            return nil
        } catch {
            throw BuildError("filesystem", "cannot read \(path): \(error)")
        }
        guard case .contents(let bytes, _) = outcome,
              let uid = UInt32(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              (Self.firstUID...Self.lastUID).contains(uid)
        else { throw BuildError("filesystem", "\(path) does not hold a build uid") }
        return uid
    }
}
