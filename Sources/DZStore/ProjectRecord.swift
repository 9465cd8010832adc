import DZSystem

/// A project's row in the zoomdb.
public struct ProjectRecord: Sendable, Equatable {
    public var id: String
    public var sourceURL: String?
    public var title: String?
    public var created: Timestamp
    public var updated: Timestamp

    init(row: SQLiteRow) {
        id = row.string("id") ?? ""
        sourceURL = row.string("source_url")
        title = row.string("title")
        created = row.string("created").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
        updated = row.string("updated").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
    }
}

/// A stored config guess (see DZWork's `ConfigGuess`).
public struct StoredGuess: Sendable, Equatable {
    public var field: String
    public var value: String
    public var isPrimary: Bool
    public var basis: String

    public init(field: String, value: String, isPrimary: Bool, basis: String) {
        self.field = field
        self.value = value
        self.isPrimary = isPrimary
        self.basis = basis
    }
}
