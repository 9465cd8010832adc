import Logging

/// Whether a bundle's code is behind its database: the migrations the database records as applied
/// (`django_migrations`) that the bundle does not have, as when a release is rolled back past a migration. Django's
/// `migrate` would not undo them (it cannot: the code that knows how is gone) and the older code would run against
/// a newer schema.
///
/// Counted: rows of apps installed in the bundle, whose migration is neither on disk nor replaced by a squashed
/// migration on disk. Not counted: rows of apps the bundle no longer installs (a removed app leaves its rows and
/// tables behind for good; nothing could migrate them back).
package struct SchemaCheck: Sendable {
    /// `app.name` of each migration the database is ahead by, sorted.
    package var ahead: [String]
    /// For each app the database is ahead in, the migration to go back to: the newest the bundle has of that app
    /// (its leaf), or `zero` when the bundle has none; `app` to `migration`.
    var targets: [String: String] = [:]

    /// At most this many are named in a message.
    static let listed = 20

    /// Runs the check with the app's Python next to one of its instances.
    package static func run(_ runner: ManagePy, project: String, timeout: Double, logger: Logger)
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

    /// The check's result lines, `dz-schema-ahead app.name ...` and `dz-schema-target app.name ...` (the last
    /// of each: settings may print first).
    static func parse(_ output: String) -> SchemaCheck? {
        let lines = output.split(separator: "\n")
        guard let line = lines.last(where: { $0.hasPrefix(marker + " ") || $0 == marker }) else { return nil }
        let names = line.dropFirst(marker.count).split(separator: " ").map(String.init)
        var targets: [String: String] = [:]
        if let targetLine = lines.last(where: { $0.hasPrefix(targetMarker + " ") }) {
            for entry in targetLine.dropFirst(targetMarker.count).split(separator: " ") {
                guard let dot = entry.firstIndex(of: ".") else { continue }
                targets[String(entry[..<dot])] = String(entry[entry.index(after: dot)...])
            }
        }
        return SchemaCheck(ahead: names.sorted(), targets: targets)
    }

    static let marker = "dz-schema-ahead"
    static let targetMarker = "dz-schema-target"

    /// Why a deploy refuses to go on, naming at most `listed` migrations.
    package func refusal(project: String) -> String {
        var names = ahead.prefix(Self.listed).joined(separator: ", ")
        if ahead.count > Self.listed { names += " and \(ahead.count - Self.listed) more" }
        let apps = Set(ahead.compactMap { $0.split(separator: ".").first.map(String.init) }).sorted().prefix(Self.listed)
        let commands = apps.map { "`dz manage --project \(project) -- migrate \($0) \(targets[$0] ?? "<migration>")`" }
        return "the database has \(ahead.count) migration(s) applied that this release does not have: \(names). "
            + "Reverse them first on the current release with " + commands.joined(separator: ", then ")
            + ", or pass --allow-schema-mismatch"
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
        targets = []
        for app in sorted({key[0] for key in ahead}):
            leaves = sorted(name for (label, name) in loader.graph.leaf_nodes() if label == app)
            targets.append("%s.%s" % (app, leaves[-1] if leaves else "zero"))
        print("\(targetMarker)" + "".join(" " + target for target in targets))
        """
}
