import DZSystem

/// Why a checkout failed, each with a message for the job log. URLs in messages are redacted.
public enum CheckoutError: Error, Equatable, CustomStringConvertible {
    case badURL(String, String)
    case badRevision(String, String)
    case toolMissing(String)
    /// A VCS command failed: what was being done, and the tail of its output.
    case failed(String, String)
    case timedOut(String, Double)
    case filesystem(String)
    /// The revision's files hold more bytes or names than the build host allows: found before anything was
    /// written (git), or after (Mercurial).
    case tooLarge(bytes: Int64, files: Int, limits: BuildLimits)

    public var description: String {
        switch self {
        case .badURL(let url, let why): "bad repository URL \(SourceURL.redact(url)): \(why)"
        case .badRevision(let revision, let why): "bad revision \"\(revision.prefix(100))\": \(why)"
        case .toolMissing(let tool):
            tool == "hg" ? "Mercurial (hg) is not installed on this build host" : "\(tool) is not installed on this build host"
        case .failed(let step, let output): "\(step) failed: \(output)"
        case .timedOut(let step, let seconds): "\(step) did not finish within \(Int(seconds)) s"
        case .filesystem(let message): message
        case .tooLarge(let bytes, let files, let limits):
            files > limits.maxFiles
                ? "the revision holds more than \(limits.maxFiles) files, the most a build may have; nothing was checked out"
                : "the revision's files hold \(ByteSize.text(bytes)), more than the \(ByteSize.text(limits.maxBundleSize)) "
                    + "a bundle may have on this build host (dz agent --max-bundle-size); nothing was checked out"
        }
    }
}

extension CheckoutError {
    /// A time-out may go away on another attempt; a missing repository or revision will not.
    public var isTransient: Bool {
        if case .timedOut = self { return true }
        return false
    }
}
