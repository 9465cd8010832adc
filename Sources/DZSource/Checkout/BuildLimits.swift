import DZSystem

/// The caps on what one build may write, so that a repository that expands (a small compressed history of a huge
/// file, `STATICFILES_DIRS` pointing at `/usr`, a `setup.py` writing without end) fails its build with a clear error
/// instead of filling the build host's disk.
///
/// - `maxBundleSize` bounds the checkout (summed from `git ls-tree` before anything is written), the build
///   directory and the build's temporary files while the project's code runs (measured every second, the sandbox
///   killed when past it), the project's pip cache, and the bundle itself (the sum of its files before archiving).
/// - `maxStaticSize` bounds what the proxy serves from the bundle: collectstatic's output (also measured while it
///   runs) and the `site_media_map` directories.
/// - `maxFiles` bounds the number of names in each of those trees (an inode bomb is as bad as a large file).
public struct BuildLimits: Sendable, Equatable {
    public var maxBundleSize: Int64
    public var maxStaticSize: Int64
    public var maxFiles: Int

    /// 2 GiB of bundle (a virtualenv with numpy, pandas and their kin is under 1 GiB), 512 MiB of static files,
    /// 500,000 names.
    public init(maxBundleSize: Int64 = 2 << 30, maxStaticSize: Int64 = 512 << 20, maxFiles: Int = 500_000) {
        self.maxBundleSize = maxBundleSize
        self.maxStaticSize = maxStaticSize
        self.maxFiles = maxFiles
    }
}
