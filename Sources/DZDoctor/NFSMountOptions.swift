/// What dz needs of an NFS mount of the spool, judged from its options.
///
/// - `hard` (the default): a `soft` mount returns EIO when the server is slow, and a rename or write that failed
///   that way may still have happened; dz's protocol assumes that an operation either happened or will be retried.
/// - `lookupcache=positive` or `none`: with the default (`all`), a name looked up as missing is cached as missing,
///   so a task another host dropped may stay invisible to this host's checks for up to `acdirmax`.
/// - a short `acdirmax` (at most `maxDirectoryCache` seconds, `actimeo` sets it too): directory listings may be
///   that old, and each rescan sees the other hosts' new tasks only that late (NFS's default is 60 s).
public struct NFSMountOptions: Sendable {
    /// The longest directory attribute cache that dz accepts without a warning, in seconds.
    public static let maxDirectoryCache = 3

    public let options: [String: String]

    public init(_ options: [String: String]) { self.options = options }

    /// One finding per option that matters.
    public func findings() -> [Finding] {
        var found: [Finding] = []
        if options["soft"] != nil || options["softerr"] != nil {
            found.append(Finding("nfs-options", .problem,
                                 "mounted soft: a slow server turns renames into errors that may have happened; mount with hard"))
        } else {
            found.append(Finding("nfs-options", .ok, "hard"))
        }
        switch options["lookupcache"] {
        case "positive", "pos", "none":
            found.append(Finding("nfs-options", .ok, "lookupcache=\(options["lookupcache"] ?? "")"))
        default:
            found.append(Finding("nfs-options", .warning, """
                lookupcache=\(options["lookupcache"] ?? "all") caches missing names: a task another host dropped may \
                stay invisible here; mount with lookupcache=positive (or none)
                """))
        }
        if options["noac"] != nil {
            found.append(Finding("nfs-options", .ok, "noac: no attribute cache"))
        } else {
            let seconds = options["acdirmax"].flatMap { Int($0) } ?? options["actimeo"].flatMap { Int($0) } ?? 60
            if seconds <= Self.maxDirectoryCache {
                found.append(Finding("nfs-options", .ok, "acdirmax=\(seconds)"))
            } else {
                found.append(Finding("nfs-options", .warning, """
                    acdirmax=\(seconds): directory listings may be \(seconds) s old, so each rescan finds other hosts' \
                    tasks that late; mount with acdirmax=\(Self.maxDirectoryCache) or less (or actimeo=\(Self.maxDirectoryCache))
                    """))
            }
        }
        return found
    }
}
