import DZSource
import DZSystem

extension BuildLimits {
    /// The error of a tree past its bound: `what` ("the build", "the static files"), how far it got, and the agent
    /// option that raises the bound.
    static func exceeded(_ what: String, size: TreeSize, maxBytes: Int64, maxEntries: Int, option: String)
        -> BuildError
    {
        if size.entries > maxEntries {
            return BuildError("too-large", "\(what) holds more than \(maxEntries) files and directories, the most a "
                              + "build may make")
        }
        return BuildError("too-large", "\(what) grew past \(ByteSize.text(maxBytes)), the most this build host allows "
                          + "(\(option)); stopped at \(ByteSize.text(size.bytes)) or more")
    }
}
