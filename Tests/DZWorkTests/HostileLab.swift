#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Synchronization
import Testing
@testable import DZBuild
@testable import DZBundle
@testable import DZSource

/// The host a hostile tenant builds on (see `HostileBuildTests`), made once for the suite and removed after it.
enum HostileLab {
    static let example = BundleBuilderTests.example
    static let mallory = try! ProjectID("mallory")

    /// The secrets planted on the host, each a distinct string that must never reach a bundle.
    static let secrets = ["ZOOMDB-SECRET-7f3a1c", "APP-RUNTIME-SECRET-9c2e44", "BYSTANDER-CODE-SECRET-51d0ab",
                          "BYSTANDER-CACHE-SECRET-e81f27", "SPOOL-TASK-SECRET-3b96d5"]

    /// The host: a data directory, a spool with a zoomdb and a finished task, an app's directory.
    struct Lab: Sendable {
        let root: String
        let workspace: Workspace
        let spool: String
        let zoomdb: String
        let appDirectory: String
        let bystanderCode: String
        let bystanderCache: String

        static func make() throws -> Lab {
            // Not under /tmp: the sandbox's /tmp is the build's own, and paths there would only find that.
            var template = Array("/var/tmp/dz-hostile-XXXXXX".utf8CString)
            let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            let workspace = Workspace(root: root + "/data")
            let lab = Lab(root: root, workspace: workspace, spool: root + "/spool",
                          zoomdb: root + "/spool/zoomdb/zoomdb.sqlite3", appDirectory: root + "/data/apps/bystander",
                          bystanderCode: root + "/data/checkouts/bystander/src/bystander/settings.py",
                          bystanderCache: root + "/data/caches/bystander/pip/secret.txt")
            let files = [
                (lab.zoomdb, secrets[0]), (lab.appDirectory + "/runtime.env", "DZ_SECRET_KEY=" + secrets[1]),
                (lab.bystanderCode, "SECRET_KEY = '\(secrets[2])'"), (lab.bystanderCache, secrets[3]),
                (lab.spool + "/build/done/2026-12-01/task.json", "{\"args\": {\"token\": \"\(secrets[4])\"}}"),
            ]
            for (path, text) in files {
                try FileSystem.makeDirectories(BundleArchive.parent(of: path))
                try FileIO.create(path, bytes: Array(text.utf8), mode: 0o644, sync: false)
            }
            try FileSystem.makeDirectories(lab.spool + "/build/new")
            return lab
        }

        /// Removes the lab (slow on a file system mounted with `discard`: minutes for a few builds).
        func remove() async { _ = try? await Subprocess.run(["rm", "-rf", "--", root], timeout: 900) }

        /// A git repository of examples/hello whose settings run `hello/hostile.py` with `targets`; `tweak` changes
        /// the copy before the commit.
        func repository(_ name: String, targets: [String: Any] = [:], hostile: Bool = true,
                        tweak: (String) throws -> Void = { _ in }) async throws -> String
        {
            let repository = root + "/repositories/" + name
            try FileSystem.makeDirectories(root + "/repositories")
            try FileManager.default.copyItem(atPath: HostileLab.example, toPath: repository)
            if hostile {
                try FixtureSupport.write(HostileLab.hostileModule, to: "hello/hostile.py", in: repository)
                let settings = try String(contentsOfFile: repository + "/hello/settings.py", encoding: .utf8)
                try FixtureSupport.write(settings + "\nfrom hello.hostile import STATICFILES_DIRS  # noqa: E402\n",
                                         to: "hello/settings.py", in: repository)
                let json = try JSONSerialization.data(withJSONObject: targets, options: [.sortedKeys])
                try FixtureSupport.write(String(decoding: json, as: UTF8.self), to: "targets.json", in: repository)
            }
            try tweak(repository)
            try await FixtureSupport.commitAll(in: repository)
            return repository
        }

        /// Builds `repository` as `project`.
        func build(_ repository: String, project: ProjectID = HostileLab.mallory,
                   limits: BuildLimits = BuildLimits()) async throws -> Result<BundleBuilder.Built, BuildError>
        {
            let config = try ZoombuildConfig.parse("[project]\ndjango_settings_module = hello.settings\n"
                + "requirements_files = requirements.txt\ndatabase_type = sqlite\n")
            let request = BundleBuilder.Request(project: project, source: try SourceURL(repository), revision: nil,
                                                config: config)
            let builder = BundleBuilder(workspace: workspace, limits: limits)
            do {
                return .success(try await builder.build(request, logger: Logger(label: "test")))
            } catch {
                return .failure(error)
            }
        }

        /// The report the hostile code wrote at `phase` (`import` or `collectstatic`) into its build.
        func report(_ built: BundleBuilder.Built, _ phase: String) throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: built.buildDirectory + "/src/report-\(phase).json"))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }

        /// The files of `directory` that hold a planted secret (none, or the test fails).
        func filesWithSecrets(in directory: String) async throws -> [String] {
            let outcome = try await Subprocess.run(
                ["grep", "-r", "-l", "-a", "-F"] + HostileLab.secrets.flatMap { ["-e", $0] } + ["--", directory],
                timeout: 120)
            try #require(outcome.ending == .exited(0) || outcome.ending == .exited(1), "grep: \(outcome.tail())")
            return outcome.stdoutText.split(separator: "\n").map(String.init)
        }
    }

    /// The reports the attacker's code leaves in a build: its settings are imported once, by the one Python that
    /// checks the imports and then runs collectstatic.
    static let phases = ["import"]

    /// The attacker's code, run at every import of its settings.
    static let hostileModule = """
        import json, os, socket, sys, time

        HERE = os.path.dirname(os.path.abspath(__file__))
        TOP = os.path.dirname(HERE)
        with open(os.path.join(TOP, "targets.json")) as f:
            T = json.load(f)
        PHASE = "collectstatic" if "collectstatic" in sys.argv else "import"
        REPORT = {"uid": os.getuid(), "environ": sorted(os.environ), "read": {}, "wrote": {}, "listed": {}}


        def attempt(kind, path, action):
            try:
                REPORT[kind][path] = action(path)
            except Exception as error:
                REPORT[kind][path] = "error: " + type(error).__name__


        def read(path):
            with open(path, "rb") as f:
                return "content: " + f.read(4096).decode("latin-1")


        def write(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("mallory was here\\n")
            return "written"


        for path in T.get("read", []):
            attempt("read", path, read)
        for path in T.get("write", []):
            attempt("wrote", path, write)
        for path in T.get("list", []):
            attempt("listed", path, lambda p: sorted(os.listdir(p))[:100])
        try:
            socket.create_connection(("pypi.org", 443), timeout=5).close()
            REPORT["network"] = "connected"
        except Exception as error:
            REPORT["network"] = "error: " + type(error).__name__
        with open(os.path.join(TOP, "report-%s.json" % PHASE), "w") as f:
            json.dump(REPORT, f)

        STATICFILES_DIRS = [p if os.path.isabs(p) else os.path.join(TOP, p) for p in T.get("staticfiles_dirs", [])]

        if T.get("fill") and PHASE == "import":
            with open(os.path.join(TOP, "fill.bin"), "wb") as f:
                while True:
                    f.write(bytes(1 << 20))
                    f.flush()
                    time.sleep(0.01)
        """

    private static let shared = Mutex<Task<Lab, any Error>?>(nil)

    static func lab() async throws -> Lab {
        let task = shared.withLock { task in
            if let task { return task }
            let made = Task<Lab, any Error> { try Lab.make() }
            task = made
            return made
        }
        return try await task.value
    }

    /// Removes the lab once the suite has run.
    struct Scope: SuiteTrait, TestScoping {
        var isRecursive: Bool { false }

        func provideScope(for test: Test, testCase: Test.Case?,
                          performing function: @Sendable () async throws -> Void) async throws
        {
            let result: Result<Void, any Error>
            do { result = .success(try await function()) } catch { result = .failure(error) }
            if let task = HostileLab.shared.withLock({ task in defer { task = nil }; return task }),
               let lab = try? await task.value {
                await lab.remove()
            }
            try result.get()
        }
    }
}
