import DZBundle
import DZSystem

/// What builds leave in `<data>/builds/` and when a build host removes it. A build tree is removed by the build
/// that fails or by `bundle_upload` once its bundle is stored; a tree is left when the upload ran on another build
/// host, the job was cancelled between the two, or an agent died mid-build, and each is the size of a whole
/// virtualenv. pip's log of a failed install (`<bundle>.pip.log`) is kept on purpose: the step's error names it.
///
/// So every build first removes, on its own host (the directory is local: `dz gc` on another host could not reach
/// it), the trees (`<bundle>/`, `<bundle>.tmp/`) last changed more than `treeAge` ago and the pip logs more than
/// `logAge` ago. A build in progress is never that old: its pip and its steps run under time limits of minutes.
struct BuildLeftovers: Sendable {
    let directory: String
    var treeAge: Double = 86_400
    var logAge: Double = 7 * 86_400

    init(workspace: Workspace) {
        directory = workspace.root + "/builds"
    }

    /// What `prune` removed.
    struct Removed: Equatable, Sendable {
        var trees: [String] = []
        var logs: [String] = []
    }

    /// Removes the leftovers older than their age; `now` is the time they are measured from.
    @discardableResult
    func prune(now: Timestamp = .now()) -> Removed {
        var removed = Removed()
        for name in (try? FileSystem.names(in: directory)) ?? [] where name.hasPrefix("bundle_") {
            let path = directory + "/" + name
            guard let status = try? FileSystem.linkStatus(path) else { continue }
            let age = now - status.modified
            if name.hasSuffix(".pip.log"), status.isRegular, age > logAge {
                try? FileSystem.unlink(path)
                removed.logs.append(name)
            } else if status.isDirectory, age > treeAge {
                SourceTree.remove(path)
                removed.trees.append(name)
            }
        }
        return removed
    }
}
