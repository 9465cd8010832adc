import DZJSON
import DZSystem

/// A stored bundle, as the zoomdb knows it.
public struct BundleRecord: Sendable, Equatable {
    public var project: String
    public var name: String
    public var codeRevision: String?
    public var sha256: String?
    public var size: Int64?
    public var storageURL: String?
    public var created: Timestamp
    public var deleted: Timestamp?

    init(row: SQLiteRow) {
        project = row.string("project") ?? ""
        name = row.string("name") ?? ""
        codeRevision = row.string("code_revision")
        sha256 = row.string("sha256")
        size = row.int("size")
        storageURL = row.string("storage_url")
        created = row.string("created").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
        deleted = row.string("deleted").flatMap { Timestamp(rfc3339: $0) }
    }

    public var jsonObject: [String: JSONValue] {
        [
            "name": .string(name), "project": .string(project), "revision": codeRevision.map(JSONValue.string) ?? .null,
            "sha256": sha256.map(JSONValue.string) ?? .null, "size": size.map(JSONValue.int) ?? .null,
            "storage_url": storageURL.map(JSONValue.string) ?? .null, "created": .string(created.rfc3339),
            "deleted": deleted.map { .string($0.rfc3339) } ?? .null,
        ]
    }

    /// A bundle read back from `jsonObject`; nil without a name and a project.
    public init?(json object: [String: JSONValue]) {
        guard let name = object["name"]?.stringValue, let project = object["project"]?.stringValue else { return nil }
        self.project = project
        self.name = name
        codeRevision = object["revision"]?.stringValue
        sha256 = object["sha256"]?.stringValue
        size = object["size"]?.intValue
        storageURL = object["storage_url"]?.stringValue
        created = object["created"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
        deleted = object["deleted"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
    }
}

/// An app's database, as create_database reported it. The password is kept here (the zoomdb is 0600) so that
/// deploys can hand it to the app; it never goes to a log.
public struct AppDatabaseRecord: Sendable, Equatable {
    public var project: String
    public var engine: String
    public var host: String?
    public var port: Int?
    public var name: String
    public var user: String?
    public var password: String?

    public init(project: String, engine: String, host: String?, port: Int?, name: String, user: String?,
                password: String?)
    {
        self.project = project
        self.engine = engine
        self.host = host
        self.port = port
        self.name = name
        self.user = user
        self.password = password
    }
}

extension ZoomDB {
    /// Records a bundle put into the store (a second record of the same name is ignored).
    public func recordBundle(project: String, name: String, codeRevision: String?, sha256: String?, size: Int64?,
                             storageURL: String?, at time: Timestamp = .now()) throws
    {
        try database.query("""
            INSERT OR IGNORE INTO bundles (project, name, code_revision, sha256, size, storage_url, created)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [project, name, codeRevision, sha256, size, storageURL, time.rfc3339])
    }

    /// The project's bundles, deleted ones included, oldest first.
    public func bundles(of project: String) throws -> [BundleRecord] {
        try database.query("SELECT * FROM bundles WHERE project = ? ORDER BY created, id", [project])
            .map(BundleRecord.init(row:))
    }

    /// The bundle named `name`, of whichever project, or nil when the zoomdb has no record of it.
    public func bundle(named name: String) throws -> BundleRecord? {
        try database.query("SELECT * FROM bundles WHERE name = ?", [name]).first.map(BundleRecord.init(row:))
    }

    /// Marks bundles deleted from the store.
    public func markBundlesDeleted(_ names: [String], at time: Timestamp = .now()) throws {
        for name in names {
            try database.query("UPDATE bundles SET deleted = ? WHERE name = ? AND deleted IS NULL", [time.rfc3339, name])
        }
    }

    /// Records (or updates) the app's database.
    public func recordAppDatabase(_ record: AppDatabaseRecord) throws {
        try database.query("""
            INSERT INTO app_databases (project, engine, host, port, name, user, password) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(project) DO UPDATE SET engine = excluded.engine, host = excluded.host, port = excluded.port,
                name = excluded.name, user = excluded.user, password = excluded.password
            """, [record.project, record.engine, record.host, record.port, record.name, record.user, record.password])
    }

    public func appDatabase(of project: String) throws -> AppDatabaseRecord? {
        try database.query("SELECT * FROM app_databases WHERE project = ?", [project]).first.map { row in
            AppDatabaseRecord(project: row.string("project") ?? "", engine: row.string("engine") ?? "",
                              host: row.string("host"), port: row.int("port").map(Int.init), name: row.string("name") ?? "",
                              user: row.string("user"), password: row.string("password"))
        }
    }
}
