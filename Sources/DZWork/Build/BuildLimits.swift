import Foundation

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

    /// Reads a size: bytes, or a number with `K`, `M`, `G` or `T` (powers of 1024, an optional `iB` or `B`
    /// after it). Nil for anything else, zero, or more than an `Int64` holds.
    public static func parseSize(_ text: String) -> Int64? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        if digits.hasSuffix("IB") { digits.removeLast(2) } else if digits.hasSuffix("B") { digits.removeLast() }
        var shift: Int64 = 0
        if let last = digits.last, let position = Array("KMGT").firstIndex(of: last) {
            shift = Int64(10 * (position + 1))
            digits.removeLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Int64(digits), number > 0 else { return nil }
        let (value, overflow) = number.multipliedReportingOverflow(by: Int64(1) << shift)
        return overflow ? nil : value
    }

    /// `1.5 GiB`, `300 MiB`, `12 KiB`, `100 bytes`: a size as messages give it.
    public static func text(_ bytes: Int64) -> String {
        let units: [(Int64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (unit, name) in units where bytes >= unit {
            var number = String(format: "%.1f", Double(bytes) / Double(unit))
            if number.hasSuffix(".0") { number.removeLast(2) }
            return number + " " + name
        }
        return "\(bytes) bytes"
    }

    /// The error of a tree past its bound: `what` ("the build", "the static files"), how far it got, and the agent
    /// option that raises the bound.
    static func exceeded(_ what: String, size: TreeSize, maxBytes: Int64, maxEntries: Int, option: String)
        -> BuildError
    {
        if size.entries > maxEntries {
            return BuildError("too-large", "\(what) holds more than \(maxEntries) files and directories, the most a "
                              + "build may make")
        }
        return BuildError("too-large", "\(what) grew past \(text(maxBytes)), the most this build host allows "
                          + "(\(option)); stopped at \(text(size.bytes)) or more")
    }
}
