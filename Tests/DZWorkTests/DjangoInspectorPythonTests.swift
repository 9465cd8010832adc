@testable import DZSource
import DZSystem
@testable import DZWork
import Testing

/// The Django inspector's own unit tests (Python's unittest, `Python/test_django_inspector.py`), run by
/// `swift test` so that the one test command runs them, beside `InspectionTests` that run the inspector on the
/// fixture repositories.
@Suite struct DjangoInspectorPythonTests {
    /// This directory in the source tree.
    static let directory: String = {
        let path = #filePath
        return String(path[..<path.lastIndex(of: "/")!])
    }()

    @Test func theInspectorsPythonUnitTestsPass() async throws {
        // The system Python, as on a fresh machine (a pyenv interpreter may be unreachable for other users).
        let outcome = try await Subprocess.run(
            ["/usr/bin/python3", "-I", "-B", Self.directory + "/Python/test_django_inspector.py"],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], timeout: 300)
        #expect(outcome.succeeded, "\(outcome.ending)\n\(outcome.stderrText)")
        #expect(outcome.stderrText.contains("\nOK"), "\(outcome.stderrText)")
    }

    @Test func theEmbeddedProgramIsTheFileInTheSourceTree() throws {
        let file = try FileIO.readAll(Self.directory + "/../../Sources/DZSource/Inspection/django_inspector.py")
        #expect(Array(DjangoInspectorScript.source.utf8) == file)
    }
}
