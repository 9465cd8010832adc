/// The database engines dz provisions for an app: what a job may ask for, what a build chooses the driver by
/// (`BundleBuilder.Request.effectiveDatabaseEngine`), and what `create_database` makes (`AppDatabase.engine`).
public enum DatabaseEngine: String, Sendable, CaseIterable {
    case postgresql, sqlite
}
