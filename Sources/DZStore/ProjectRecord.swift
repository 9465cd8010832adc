import DZSystem
import DZTasks

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

/// A stored config guess: the guess check_repo returns (`CheckRepoTask.Guess`, the inspector's `ConfigGuess`).
public typealias StoredGuess = CheckRepoTask.Guess
