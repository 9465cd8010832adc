import DZAgent
import DZSource
import DZSpool

extension SourceURL {
    /// A task's `source`, validated; a source on this host's own file system only where `allowLocal`
    /// (`dz agent --allow-local-sources`).
    static func argument(_ text: String, allowLocal: Bool) throws(TaskFailure) -> SourceURL {
        let url: SourceURL
        do { url = try SourceURL(text) } catch { throw .badArgs(error.description) }
        guard allowLocal || !url.isLocal else {
            throw .badArgs("\(url.redacted) is on the build host's own file system; this agent does not "
                           + "check out local sources (dz agent --allow-local-sources)")
        }
        return url
    }
}

extension SourceCheckout.VCS {
    /// A task's `vcs`: `git` (nil) or `hg`.
    static func argument(_ name: String?) throws(TaskFailure) -> SourceCheckout.VCS {
        guard let vcs = SourceCheckout.VCS(rawValue: name ?? "git") else {
            throw .badArgs("vcs must be git or hg, not \(name ?? "")")
        }
        return vcs
    }
}
