extension ZoombuildConfig {
    /// Comment lines for the end of a proposed zoombuild.cfg: the guesses the proposal left out that a user may
    /// want instead (other requirements files, a database engine only hinted at by a driver or Django's
    /// default), each as a commented key line to move into `[project]`. Empty when there is none.
    public static func proposalNotes(guesses: [ConfigGuess]) -> String {
        var lines: [String] = []
        let files = guesses.filter { $0.field == Key.requirementsFiles.rawValue && !$0.isPrimary }
            .flatMap { Self.lines(of: $0.value) }
        if !files.isEmpty {
            lines.append("# Other requirements files (not installed; add them to requirements_files to install them):")
            lines += files.map { "#     \(oneLine($0))" }
        }
        let hints = guesses.filter { $0.field == Key.databaseType.rawValue && !$0.isPrimary }
        if !hints.isEmpty {
            lines.append("# Database hints (the hosts' database is used; set database_type to demand one):")
            lines += hints.map { "# database_type = \(oneLine($0.value))    (from \(oneLine($0.basis)))" }
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// A guess's text on one comment line: no line breaks, at most 200 characters.
    private static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(200))
    }
}
