import Logging

/// Whether a bundle's code is behind its database: the migrations the database records as applied
/// (`django_migrations`) that the bundle does not have, as when a release is rolled back past a migration. Django's
/// `migrate` would not undo them (it cannot: the code that knows how is gone) and the older code would run against
/// a newer schema.
///
/// Counted: rows of apps installed in the bundle, whose migration is neither on disk nor replaced by a squashed
/// migration on disk. Not counted: rows of apps the bundle no longer installs (a removed app leaves its rows and
/// tables behind for good; nothing could migrate them back).
struct SchemaCheck: Sendable {
    /// `app.name` of each migration the database is ahead by, sorted.
    var ahead: [String]

    /// At most this many are named in a message.
    static let listed = 20

    /// Runs the check with the app's Python next to one of its instances.
    static func run(_ runner: ManagePy, project: String, timeout: Double, logger: Logger)
        async throws(DeployError) -> SchemaCheck
    {
        let output = try await runner.runChecked([runner.python, "-c", script], timeout: timeout,
                                                 kind: "schema-check", logger: logger)
        guard let found = parse(output) else {
            throw .hook(kind: "schema-check", "the schema check printed no result:\n"
                + ManagePy.tail(output, lines: 10))
        }
        return found
    }

    /// The check's result line, `dz-schema-ahead app.name ...` (the last one: settings may print first).
    static func parse(_ output: String) -> SchemaCheck? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix(marker) }) else { return nil }
        let names = line.dropFirst(marker.count).split(separator: " ").map(String.init)
        return SchemaCheck(ahead: names.sorted())
    }

    static let marker = "dz-schema-ahead"

    /// Why a deploy refuses to go on, naming at most `listed` migrations.
    func refusal(project: String) -> String {
        var names = ahead.prefix(Self.listed).joined(separator: ", ")
        if ahead.count > Self.listed { names += " and \(ahead.count - Self.listed) more" }
        return "the database has \(ahead.count) migration(s) applied that this release does not have: \(names). "
            + "Run the reverse migration first with `dz manage --project \(project) -- migrate <app> <target>` on "
            + "the current release, or pass --allow-schema-mismatch"
    }

    /// Prints `dz-schema-ahead` and the `app.name` of every migration applied in the database but missing from
    /// the code (app labels and migration names are Python identifiers: no spaces).
    static let script = """
        import django
        django.setup()
        from django.apps import apps
        from django.db import DEFAULT_DB_ALIAS, connections
        from django.db.migrations.loader import MigrationLoader
        loader = MigrationLoader(connections[DEFAULT_DB_ALIAS], ignore_no_migrations=True)
        installed = {config.label for config in apps.get_app_configs()}
        replaced = {tuple(key) for migration in loader.disk_migrations.values() for key in (migration.replaces or [])}
        ahead = sorted(key for key in loader.applied_migrations
                       if key[0] in installed and key not in loader.disk_migrations and key not in replaced)
        print("\(marker)" + "".join(" %s.%s" % key for key in ahead))
        """
}
