import DZJSON
import DZSystem

/// Each project's unix user and its limits on the appservers.
extension ZoomDB {
    /// The project's recorded user, or nil.
    public func appUser(of project: String) throws -> AppUserRecord? {
        try database.query("SELECT * FROM app_users WHERE project = ?", [project]).first.flatMap(AppUserRecord.init(row:))
    }

    /// The project whose user is `name`, or nil.
    public func project(owningAppUser name: String) throws -> String? {
        try database.query("SELECT project FROM app_users WHERE name = ?", [name]).first?.string("project")
    }

    /// The project's user: the recorded one, else a new one recorded now with the first uid of `range` (from
    /// the project's preferred one, wrapping around) that no project has. The table's uniqueness of project, name
    /// and uid decides a race with another writer: the loser reads the winner's row, or takes the next uid.
    /// Throws `AppUserError.exhausted` when every uid of the range is taken.
    @discardableResult
    public func allocateAppUser(for project: String, range: ClosedRange<UInt32> = AppUserRecord.uidRange,
                                at time: Timestamp = .now()) throws -> AppUserRecord
    {
        if let recorded = try appUser(of: project) { return recorded }
        let taken = Set(try database.query("SELECT uid FROM app_users").compactMap { $0.int("uid") })
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        let start = UInt64(AppUserRecord.preferredUID(project: project, in: range) - range.lowerBound)
        for step in 0..<size {
            let uid = range.lowerBound + UInt32((start + step) % size)
            guard !taken.contains(Int64(uid)) else { continue }
            let record = AppUserRecord(project: project, name: AppUserRecord.userName(project: project, uid: uid),
                                       uid: uid, created: time)
            try database.query("""
                INSERT OR IGNORE INTO app_users (project, name, uid, created) VALUES (?, ?, ?, ?)
                """, [record.project, record.name, Int64(record.uid), time.rfc3339])
            if database.changes == 1 { return try appUser(of: project) ?? record }
            if let recorded = try appUser(of: project) { return recorded }
        }
        throw AppUserError.exhausted(range)
    }

    /// The per-app limits the project's releases set (`memory`, `processes`, `cpu_weight`), or an empty object.
    public func appLimits(of project: String) throws -> [String: JSONValue] {
        guard let text = try database.query("SELECT limits FROM projects WHERE id = ?", [project]).first?
            .string("limits"), case .object(let object)? = try? JSONValue.parse(Array(text.utf8)) else { return [:] }
        return object
    }

    /// Replaces the project's limits.
    public func setAppLimits(of project: String, _ limits: [String: JSONValue]) throws {
        try upsertProject(project, sourceURL: nil, title: nil)
        try database.query("UPDATE projects SET limits = ? WHERE id = ?",
                           [limits.isEmpty ? nil : JSONValue.object(limits).jsonText, project])
    }
}

/// Why a project's user could not be allocated.
public enum AppUserError: Error, Sendable, Equatable, CustomStringConvertible {
    case exhausted(ClosedRange<UInt32>)

    public var description: String {
        switch self {
        case .exhausted(let range): "every app uid from \(range.lowerBound) to \(range.upperBound) is taken"
        }
    }
}
