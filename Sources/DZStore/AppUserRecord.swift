import DZJSON
import DZSystem

/// A project's unix user on every appserver: its name and uid, allocated once by the coordinator (see
/// `ZoomDB.allocateAppUser`) and carried by each `deploy` task, so that two deploy steps never pick a user apart and
/// two projects never share one.
///
/// The name is `dz_<project>` while that fits the 32 characters of a user name (project ids of up to 29
/// characters), else `dz<uid>`: both forms are one-to-one (a project id or a uid names one user) and they never
/// meet (the third character of the first is `_`, of the second a digit). Nothing is ever cut short, so two
/// projects cannot end up with one name. The appserver checks the same rule (`AppUser.expectedName` in DZDeploy).
public struct AppUserRecord: Sendable, Equatable {
    public var project: String
    public var name: String
    public var uid: UInt32
    public var created: Timestamp

    public init(project: String, name: String, uid: UInt32, created: Timestamp = .now()) {
        self.project = project
        self.name = name
        self.uid = uid
        self.created = created
    }

    init?(row: SQLiteRow) {
        guard let project = row.string("project"), let name = row.string("name"), let uid = row.int("uid"),
              let value = UInt32(exactly: uid) else { return nil }
        self.init(project: project, name: name, uid: value,
                  created: row.string("created").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0))
    }

    /// The uids apps get: above Debian's ordinary users (1000-59999) and its reserved block (60000-65535), below
    /// the subordinate ids that `useradd` hands out for user namespaces (from 100000): a local user's rootless
    /// container never maps one of its ids onto an app.
    public static let uidRange: ClosedRange<UInt32> = 70000...99999

    /// `dz_<project>`, or `dz<uid>` for a project id too long for that.
    public static func userName(project: String, uid: UInt32) -> String {
        project.utf8.count <= 29 ? "dz_" + project : "dz" + String(uid)
    }

    /// Where the search for a free uid starts: a hash of the project id (FNV-1a), so that zoomdbs that never saw
    /// each other (a test's, a staging cluster's) mostly give a project the same uid on a shared host.
    public static func preferredUID(project: String, in range: ClosedRange<UInt32> = uidRange) -> UInt32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in project.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + UInt32(hash % size)
    }

    /// The deploy task's `app_user` argument.
    public var jsonObject: [String: JSONValue] {
        ["name": .string(name), "uid": .int(Int64(uid))]
    }
}
