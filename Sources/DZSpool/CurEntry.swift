/// What a name in a queue's `cur/` is, for the reaper and for `dz status`.
///
/// A claim `<stem>.json` (stem: `<id>@<host>@<pid>@<lease>@<serial>`) may have beside it the outcome its holder
/// staged, `<stem>.result`; once the holder commits, the claim is renamed `<stem>.ok`, `<stem>.error` or
/// `<stem>.retry`. `<id>.deaths` counts the holders that died while holding task `<id>` (see `Spool.reap`).
public enum CurEntry: Sendable, Equatable {
    case claim(ClaimName)
    case staged(ClaimName)
    case committed(ClaimName, ClaimName.Outcome)
    case deaths(TaskID)
    /// Anything else: a stray, moved aside once it is old.
    case other

    public init(fileName: String) {
        guard let dot = fileName.lastIndex(of: "."), !fileName.hasPrefix(".") else {
            self = .other
            return
        }
        let stem = fileName[..<dot]
        let suffix = fileName[fileName.index(after: dot)...]
        switch suffix {
        case "json":
            self = ClaimName(stem: stem).map { .claim($0) } ?? .other
        case "result":
            self = ClaimName(stem: stem).map { .staged($0) } ?? .other
        case "deaths":
            self = (try? TaskID(String(stem))).map { .deaths($0) } ?? .other
        default:
            if let outcome = ClaimName.Outcome(rawValue: String(suffix)), let name = ClaimName(stem: stem) {
                self = .committed(name, outcome)
            } else {
                self = .other
            }
        }
    }
}
