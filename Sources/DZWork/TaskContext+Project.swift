import DZAgent
import DZSource
import DZSpool

extension TaskContext {
    /// The task's `project` argument, validated: every work handler names its project this way.
    func project() throws(TaskFailure) -> ProjectID {
        let text = try string("project")
        do { return try ProjectID(text) } catch { throw .badArgs(error.message) }
    }

    /// The task's `source` argument, validated (see `SourceURL.argument`).
    func source(allowLocal: Bool) throws(TaskFailure) -> SourceURL {
        try SourceURL.argument(try string("source"), allowLocal: allowLocal)
    }

    /// The task's `instance` argument: an instance id as `deploy` made it (`[A-Za-z0-9._-]`).
    func instance() throws(TaskFailure) -> String {
        let instance = try string("instance")
        guard TaskID.isValid(instance) else { throw .badArgs("instance ids are [A-Za-z0-9._-]") }
        return instance
    }

    /// The task's `vcs` argument: `git` (the default) or `hg`.
    func vcs() throws(TaskFailure) -> SourceCheckout.VCS {
        try SourceCheckout.VCS.argument(try optionalString("vcs"))
    }
}

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
