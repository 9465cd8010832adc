@testable import DZBuild
@testable import DZBundle
@testable import DZSource
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Testing

/// Real builds of examples/hello: a virtualenv from PyPI, the import check, collectstatic, the archive; then the
/// archive extracted somewhere else and Django run from there.
@Suite(.serialized) struct BundleBuilderTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/hello").path

    struct Scratch {
        let root: String
        let repository: String
        let workspace: Workspace

        init() async throws {
            var template = Array("/tmp/dz-build-XXXXXX".utf8CString)
            root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            repository = root + "/hello"
            workspace = Workspace(root: root + "/data")
            try FileManager.default.copyItem(atPath: BundleBuilderTests.example, toPath: repository)
            for arguments in [["init", "-q"], ["add", "-A"],
                              ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "hello"]] {
                let outcome = try await Subprocess.run(["git"] + arguments, workingDirectory: repository)
                try #require(outcome.succeeded, "git \(arguments): \(outcome.tail())")
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    func config(_ settings: String = "hello.settings", extra: [String] = []) throws -> ZoombuildConfig {
        var lines = ["[project]", "django_settings_module = \(settings)", "requirements_files = requirements.txt",
                     "database_type = sqlite"]
        if !extra.isEmpty { lines.append("extra_requirements =\n" + extra.map { "    " + $0 }.joined(separator: "\n")) }
        return try ZoombuildConfig.parse(lines.joined(separator: "\n") + "\n")
    }

    @Test func oneProcessOutputIsSplitIntoTheImportChecksAndCollectstatics() async throws {
        let mark = BundleBuilder.factsMark
        let outcome = try await Subprocess.run(
            ["/bin/sh", "-c", "printf 'settings say hi\\n\\n%s{}\\nCopying...\\n' \"$1\"; "
                + "printf 'a warning\\n\\n%s\\nTraceback\\nCommandError: no\\n' \"$1\" >&2; exit 1", "sh", mark],
            timeout: 30)
        let (check, collectstatic) = BundleBuilder.split(outcome)
        #expect(check.stdoutText == "settings say hi\n\n\(mark){}")
        #expect(check.stderrText == "a warning\n")
        #expect(collectstatic.stdoutText == "Copying...\n")
        #expect(collectstatic.tail(2) == "CommandError: no\n", "collectstatic's tail is its own")
        #expect(collectstatic.ending == .exited(1))
        // No facts line: the import check failed, and all of the output is its.
        let failed = try await Subprocess.run(["/bin/sh", "-c", "echo x; echo ImportError >&2; exit 1"], timeout: 30)
        #expect(BundleBuilder.split(failed).check == failed)
    }

    @Test(.timeLimit(.minutes(10)))
    func exampleBuildsArchivesAndRunsFromAnotherPlace() async throws {
        let scratch = try await Scratch()
        defer { scratch.remove() }
        let builder = BundleBuilder(workspace: scratch.workspace)
        let request = BundleBuilder.Request(project: try ProjectID("hello"), source: try SourceURL(scratch.repository),
                                            revision: nil, config: try config())
        let first = try await builder.build(request, logger: Logger(label: "test"))
        #expect(!first.reusedVirtualenv)
        #expect(first.name.hasPrefix("bundle_hello_"))
        #expect(FileManager.default.fileExists(atPath: first.archivePath))
        #expect(first.manifest.archiveSHA256 == (try SHA256Digest.file(at: first.archivePath)))
        #expect(first.manifest.djangoVersion?.hasPrefix("4.2") == true)
        #expect(FileManager.default.fileExists(atPath: first.buildDirectory + "/static/greetings/style.css"),
                "collectstatic ran into the bundle")
        #expect(!FileManager.default.fileExists(atPath: first.buildDirectory + "/src/.git"))

        let second = try await builder.build(request, logger: Logger(label: "test"))
        #expect(second.reusedVirtualenv, "unchanged requirements: no pip")
        #expect(second.name != first.name)

        // Extracted elsewhere, the bundle runs with <venv>/bin/python -m: the venv needs no fixed path.
        let elsewhere = scratch.root + "/elsewhere/" + first.name
        try FileSystem.makeDirectories(scratch.root + "/elsewhere")
        _ = try BundleArchive.extract(first.archivePath, into: elsewhere)
        #expect(!FileManager.default.fileExists(atPath: elsewhere + "/venv/bin/python"), "no absolute links shipped")
        try Interpreter.restore(venv: elsewhere + "/venv")
        var environment = ProcessInfo.processInfo.environment
        environment["DJANGO_SETTINGS_MODULE"] = "dz_settings"
        environment["DZ_DATABASE_URL"] = "sqlite:///" + scratch.root + "/elsewhere/db.sqlite3"
        environment["DZ_HOSTNAMES"] = "hello.example.com"
        let migrate = try await Subprocess.run([elsewhere + "/venv/bin/python", "-m", "django", "migrate", "--noinput"],
                                               environment: environment, workingDirectory: elsewhere, timeout: 120)
        #expect(migrate.succeeded, "\(migrate.tail())")
        let check = try await Subprocess.run(
            [elsewhere + "/venv/bin/python", "-c",
             "import django; django.setup(); from django.conf import settings; print(settings.ALLOWED_HOSTS, settings.DEBUG)"],
            environment: environment, workingDirectory: elsewhere, timeout: 60)
        #expect(check.stdoutText.contains("['hello.example.com'] False"), "\(check.stdoutText) \(check.tail())")
    }

    @Test(.timeLimit(.minutes(10)))
    func failedCollectstaticFailsTheBuildWithItsOwnTextOrIsAWarning() async throws {
        let scratch = try await Scratch()
        defer { scratch.remove() }
        // Settings that import (the import check passes) with a staticfiles finder that does not.
        try Data("from hello.settings import *\nSTATICFILES_FINDERS = ['dz_no_such_finder.Finder']\n".utf8)
            .write(to: URL(fileURLWithPath: scratch.repository + "/hello/settings_badstatic.py"))
        for arguments in [["add", "-A"], ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "bad"]] {
            let outcome = try await Subprocess.run(["git"] + arguments, workingDirectory: scratch.repository)
            try #require(outcome.succeeded, "git \(arguments): \(outcome.tail())")
        }
        let builder = BundleBuilder(workspace: scratch.workspace)
        var request = BundleBuilder.Request(project: try ProjectID("hello"), source: try SourceURL(scratch.repository),
                                            revision: nil, config: try config("hello.settings_badstatic"))
        do {
            _ = try await builder.build(request, logger: Logger(label: "test"))
            Issue.record("a build whose collectstatic fails succeeded")
        } catch {
            #expect(error.kind == "collectstatic")
            #expect(error.message.hasPrefix("collectstatic failed:"), "\(error.message)")
            #expect(error.message.contains("dz_no_such_finder"), "\(error.message)")
            #expect(!error.message.contains(BundleBuilder.factsMark), "the import check's output is not collectstatic's")
        }
        request.staticFailure = .warn
        let built = try await builder.build(request, logger: Logger(label: "test"))
        #expect(built.warnings.contains { $0.hasPrefix("collectstatic failed:") && $0.contains("dz_no_such_finder") },
                "\(built.warnings)")
        #expect(built.manifest.djangoVersion?.hasPrefix("4.2") == true, "the import check's facts are kept")
    }

    @Test(.timeLimit(.minutes(10)))
    func brokenSettingsAndMissingPackagesFailWithTheirText() async throws {
        let scratch = try await Scratch()
        defer { scratch.remove() }
        let builder = BundleBuilder(workspace: scratch.workspace)
        let wrongSettings = BundleBuilder.Request(project: try ProjectID("hello"),
                                                  source: try SourceURL(scratch.repository), revision: nil,
                                                  config: try config("hello.nosuchsettings"))
        do {
            _ = try await builder.build(wrongSettings, logger: Logger(label: "test"))
            Issue.record("a build with a missing settings module succeeded")
        } catch {
            #expect(error.kind == "import")
            #expect(error.message.contains("nosuchsettings"), "\(error.message)")
        }
        let missingPackage = BundleBuilder.Request(project: try ProjectID("hello"),
                                                   source: try SourceURL(scratch.repository), revision: nil,
                                                   config: try config(extra: ["dz-no-such-package-xyzzy==0.0.1"]))
        do {
            _ = try await builder.build(missingPackage, logger: Logger(label: "test"))
            Issue.record("a build with a missing package succeeded")
        } catch {
            #expect(error.kind == "pip")
            #expect(error.message.contains("dz-no-such-package-xyzzy"), "\(error.message)")
        }
    }
}
