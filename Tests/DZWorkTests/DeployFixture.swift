#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Synchronization
import Testing
@testable import DZBuild
@testable import DZBundle
@testable import DZDeploy
@testable import DZSource

/// The real examples/hello bundle, built once per test run (pip takes a while) and stored in a `DirectoryStore`,
/// and a fresh appserver data directory per test.
enum DeployFixture {
    struct Built: Sendable {
        let root: String
        let store: DirectoryStore
        let bundle: String
        let sha256: String
    }

    static let project = try! ProjectID("hello")

    /// The shared build: made by the first test that asks, removed when the suite ends (`DeployFixture.Scope`).
    static func built() async throws -> Built {
        let task = shared.withLock { task in
            if let task { return task }
            let made = Task<Built, any Error> { try await build() }
            task = made
            return made
        }
        return try await task.value
    }

    private static let shared = Mutex<Task<Built, any Error>?>(nil)

    /// The same example built as another project (`attacker` beside `hello`, say), in the shared build's root and
    /// store, its venv copied from the shared build's cache.
    static func built(as other: ProjectID) async throws -> Built {
        if other == project { return try await built() }
        let task = others.withLock { tasks in
            if let task = tasks[other.rawValue] { return task }
            let made = Task<Built, any Error> {
                let hello = try await built()
                return try await build(in: hello.root, project: other)
            }
            tasks[other.rawValue] = made
            return made
        }
        return try await task.value
    }

    private static let others = Mutex<[String: Task<Built, any Error>]>([:])

    /// Removes the shared build, if a test made it.
    static func removeBuilt() async {
        others.withLock { $0 = [:] }
        guard let task = shared.withLock({ task in defer { task = nil }; return task }),
              let built = try? await task.value else { return }
        _ = try? await Subprocess.run(["rm", "-rf", "--", built.root], timeout: 120)
    }

    /// A suite trait that removes the shared build once the suite has run.
    struct Scope: SuiteTrait, TestScoping {
        var isRecursive: Bool { false }

        func provideScope(for test: Test, testCase: Test.Case?,
                          performing function: @Sendable () async throws -> Void) async throws
        {
            do { try await function() } catch {
                await DeployFixture.removeBuilt()
                throw error
            }
            await DeployFixture.removeBuilt()
        }
    }

    /// Another bundle of the example, built after the shared one in its root and store (its venv the cached one,
    /// so the same venv under another bundle's name).
    static func builtAgain() async throws -> Built {
        let hello = try await built()
        return try await build(in: hello.root)
    }

    private static func build() async throws -> Built {
        var template = Array("/tmp/dz-deploy-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        do { return try await build(in: root) } catch {
            _ = try? await Subprocess.run(["rm", "-rf", "--", root], timeout: 120)
            throw error
        }
    }

    private static func build(in root: String, project: ProjectID = project) async throws -> Built {
        // The app's user must reach the data directories when there is no sandbox.
        try FileSystem.setMode(root, 0o755)
        let repository = root + "/hello"
        if !FileSystem.exists(repository) {
            try FileManager.default.copyItem(atPath: BundleBuilderTests.example, toPath: repository)
            try await FixtureSupport.commitAll(in: repository)
        }
        let workspace = Workspace(root: root + "/build")
        let config = try ZoombuildConfig.parse("[project]\ndjango_settings_module = hello.settings\n"
            + "requirements_files = requirements.txt\ndatabase_type = sqlite\n")
        let request = BundleBuilder.Request(project: project, source: try SourceURL(repository), revision: nil,
                                            config: config)
        let built = try await BundleBuilder(workspace: workspace).build(request, logger: Logger(label: "test"))
        let store = DirectoryStore(root: root + "/store")
        let key = project.rawValue + "/" + built.name + ".tar.zst"
        _ = try await store.put(file: built.archivePath, key: key)
        _ = try await store.put(file: BundleArchive.manifestPath(for: built.archivePath), key: key + ".manifest.json")
        return Built(root: root, store: store, bundle: built.name, sha256: built.manifest.archiveSHA256 ?? "")
    }

    /// A fresh data directory (and settings) for one test, under the shared root.
    struct Scratch: Sendable {
        let root: String
        let workspace: Workspace
        let settings: AppServerSettings

        init(under parent: String, name: String) throws {
            let stem = name.prefix { $0.isLetter || $0.isNumber }
            root = parent + "/" + stem + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            try FileSystem.makeDirectories(root + "/data", mode: 0o755)
            workspace = Workspace(root: root + "/data")
            settings = AppServerSettings(workspace: workspace, ports: 23100...23999)
        }

        /// Stops every instance still recorded, then removes the directory.
        func cleanUp() async {
            let records = InstanceDirectory(root: settings.instancesRoot).records()
            let launcher = InstanceLauncher(logger: Logger(label: "test"))
            for record in records {
                await launcher.stop(record, grace: 2)
                InstanceListeners.release(project: record.project, instance: record.instance,
                                          records: InstanceDirectory(root: settings.instancesRoot))
            }
            for project in Set(records.map(\.project)) { settings.cgroups.remove(project: project) }
            _ = try? await Subprocess.run(["rm", "-rf", "--", root], timeout: 120)
        }
    }

    /// Runs `body` with a fresh scratch data directory under `parent` (the shared build's root by default), then
    /// stops whatever it left running and removes the directory, whether `body` threw or not.
    static func withScratch<T>(under parent: String? = nil, name: String = #function,
                               _ body: (Scratch) async throws -> T) async throws -> T
    {
        var under = parent
        if under == nil { under = try await built().root }
        let scratch = try Scratch(under: under ?? "/tmp", name: name)
        await forgetStaleUser(appUser())
        let result: Result<T, any Error>
        do { result = .success(try await body(scratch)) } catch { result = .failure(error) }
        await scratch.cleanUp()
        return try result.get()
    }

    static func context(_ task: String, _ args: [String: JSONValue], queue: String = "appserver_t1",
                        id: String = "t-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)) throws -> TaskContext
    {
        TaskContext(task: TaskFile(id: try TaskID(id), task: task, args: args, job: "job1"),
                    queue: try QueueName(queue), host: try HostID("test"), logger: Logger(label: "test"))
    }

    /// The user the coordinator would allocate for `project` on a fresh zoomdb: `dz_<project>` with the uid the
    /// zoomdb prefers for it (`AppUserRecord.preferredUID`, FNV-1a over 70000-99999), so that these tests and the
    /// integration tests agree on one user per project on this shared host.
    static func appUser(_ project: ProjectID = project) -> AppUser.Allocation {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in project.rawValue.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let uid = 70000 + UInt32(hash % 30000)
        return AppUser.Allocation(name: AppUser.expectedName(project: project, uid: uid), uid: uid)
    }

    /// Removes the user and group `name` when they are not what dz would make for `project` with `uid` (left by an
    /// older dz on this shared host), so that a test's deploy makes them afresh. Runs only as root.
    static func forgetStaleUser(_ allocation: AppUser.Allocation, project: ProjectID = project) async {
        guard getuid() == 0 else { return }
        let user = UserDatabase.user(named: allocation.name)
        let fits = user.map { $0.uid == allocation.uid && $0.gid == allocation.uid
            && $0.comment == "dz app " + project.rawValue } ?? false
        if user != nil, !fits { _ = try? await Subprocess.run(["userdel", allocation.name], timeout: 60) }
        if let group = UserDatabase.group(named: allocation.name), group.gid != allocation.uid || !fits {
            if UserDatabase.user(named: allocation.name) == nil {
                _ = try? await Subprocess.run(["groupdel", group.name], timeout: 60)
            }
        }
        if let holder = UserDatabase.user(uid: allocation.uid), holder.name != allocation.name,
           holder.comment.hasPrefix("dz app ") {
            _ = try? await Subprocess.run(["userdel", holder.name], timeout: 60)
        }
        if let holder = UserDatabase.group(gid: allocation.uid), holder.name != allocation.name,
           UserDatabase.user(named: holder.name) == nil {
            _ = try? await Subprocess.run(["groupdel", holder.name], timeout: 60)
        }
    }

    /// The arguments of a deploy of the built bundle.
    static func deployArguments(_ built: Built, project: ProjectID = project, database: AppDatabase? = nil,
                                wsgi: String = "hello.wsgi", healthPath: String = "/dz-health") -> [String: JSONValue]
    {
        var args: [String: JSONValue] = [
            "project": .string(project.rawValue), "bundle": .string(built.bundle), "appserver": .string("t1"),
            "wsgi": .string(wsgi), "hostnames": .array([.string("hello.example.com"), .string("*.hello.test")]),
            "sha256": .string(built.sha256), "workers": .int(1),
            "secret_key": .string("a-secret-key-for-tests-0123456789"), "health_path": .string(healthPath),
            "health_timeout_s": .int(60), "environment": .object(["HELLO_GREETING": .string("hi")]),
            "app_user": .object(["name": .string(appUser(project).name), "uid": .int(Int64(appUser(project).uid))]),
        ]
        if let database { args["database"] = .object(database.output) }
        return args
    }

    /// `GET path` with `Host: host`: the status, or nil without an HTTP answer.
    static func status(port: Int, host: String = "hello.example.com", path: String = "/") async -> Int? {
        if case .status(let code) = await HealthProbe(address: "127.0.0.1", port: port, host: host, path: path).probe() {
            return code
        }
        return nil
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` seconds pass.
    static func eventually(timeout: Double = 30, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return await condition()
    }

    /// The uid of `/proc/<pid>/status`, or nil.
    static func uid(of pid: Int32) -> UInt32? {
        AppProcess(pid: pid).status()?.realUID
    }

    /// The gunicorn masters of the instance whose pid file is `pidFile`: processes naming it after `--pid` whose
    /// parent does not (workers name it too).
    static func masters(pidFile: String) -> [Int32] {
        var parents: [Int32: Int32] = [:]
        for pid in ((try? FileSystem.names(in: "/proc")) ?? []).compactMap({ Int32($0) }) {
            let process = AppProcess(pid: pid)
            guard let status = process.status(), status.state != "Z" else { continue }
            let arguments = process.arguments
            guard let index = arguments.firstIndex(of: "--pid"), index + 1 < arguments.count,
                  arguments[index + 1] == pidFile else { continue }
            parents[pid] = status.parent
        }
        return parents.filter { parents[$0.value] == nil }.map(\.key).sorted()
    }
}
