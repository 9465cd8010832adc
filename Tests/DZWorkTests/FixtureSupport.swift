import DZSystem
import Foundation
import Testing

/// The sample projects in `Fixtures/projects`, each copied to a temporary directory and made a real git repository
/// (one commit) for a test, and removed after it.
enum FixtureSupport {
    static let projects = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/projects").path

    /// Runs `body` with the path of a fresh git repository holding the sample project `name`.
    static func withRepository<T>(_ name: String, _ body: (String) async throws -> T) async throws -> T {
        try await withScratchDirectory { scratch in
            let repository = scratch + "/" + name
            try FileManager.default.copyItem(atPath: projects + "/" + name, toPath: repository)
            try await commitAll(in: repository)
            return try await body(repository)
        }
    }

    /// Runs `body` with an empty temporary directory, removed afterwards (by `rm -rf`, many times faster than
    /// Foundation on the huge-repository test's 30,000 files).
    static func withScratchDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let scratch = FileManager.default.temporaryDirectory.path + "/dz-inspection-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(scratch))
        } catch {
            result = .failure(error)
        }
        let removed = try await Subprocess.run(["rm", "-rf", "--", scratch], timeout: 120)
        try #require(removed.succeeded, "rm -rf \(scratch): \(removed.tail())")
        return try result.get()
    }

    /// `git init` and one commit of everything in `directory`, with no user or system git configuration.
    static func commitAll(in directory: String) async throws {
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": directory,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "LANG": "C",
        ]
        for arguments in [["git", "-c", "init.defaultBranch=main", "init", "-q"], ["git", "add", "-A"],
                          ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"]]
        {
            let outcome = try await Subprocess.run(arguments, environment: environment, workingDirectory: directory,
                                                   timeout: 60)
            try #require(outcome.succeeded, "\(arguments.joined(separator: " ")): \(outcome.tail())")
        }
    }

    /// Writes `text` to `path` (relative to `directory`), creating its folders.
    static func write(_ text: String, to path: String, in directory: String) throws {
        let full = directory + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }
}
