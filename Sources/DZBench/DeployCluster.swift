#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZStore
import DZSystem
import Foundation
import Synchronization

/// Everything `scripts/deploy` starts, on one machine, for the deploy benchmark: a spool, nginx with its own prefix
/// on a free port of 127.0.0.1, a coordinator and one agent per role (builder: build; frontend: proxy; app1:
/// appserver_app1 and database, SQLite), the bundle store a directory, and a git repository of the example project.
/// All processes run as root here (a root build agent builds as the project's own build user in its sandbox).
///
/// Layout under `root`: `spool/`, `coordinator/zoomdb.sqlite3`, `nginx/`, `build/`, `data/`, `bundles/`,
/// `src/hello/`, `logs/<process>.log`.
final class DeployCluster {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    let executable: String
    let root: String
    let example: String
    let fsync: Bool
    let port: Int
    var spoolRoot: String { root + "/spool" }
    var databasePath: String { root + "/coordinator/zoomdb.sqlite3" }
    var repository: String { root + "/src/hello" }
    var nginxPrefix: String { root + "/nginx" }
    private var processes: [(String, Process)] = []
    private var opened: ZoomDB?
    private var nginxStarted = false
    private var started = false

    init(executable: String, directory: String, example: String, fsync: Bool) throws {
        self.executable = executable
        self.example = example
        self.fsync = fsync
        root = directory + "/deploy-" + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        // nginx's workers and the app's user must reach the static files and the app's directory below it.
        _ = chmod(directory, 0o755)
        guard let free = (28_080..<28_980).first(where: { port in
            (try? TCPSocket(address: "127.0.0.1", port: port))?.canBind() == true
        }) else { throw Failure("no free port in 28080-28979 for nginx") }
        port = free
    }

    func start() throws {
        for path in [root, root + "/data", root + "/src", nginxPrefix, nginxPrefix + "/logs", nginxPrefix + "/sites"] {
            try FileSystem.makeDirectories(path)
            _ = chmod(path, 0o755)
        }
        for path in [root + "/logs", root + "/build", root + "/bundles", root + "/coordinator"] {
            try FileSystem.makeDirectories(path)
            _ = chmod(path, 0o700)
        }
        let spool = Spool(root: spoolRoot, host: try HostID("bench"), sync: fsync)
        try spool.initialize(queues: QueueName.standard + [try QueueName("appserver_app1")])
        try FileIO.create(nginxPrefix + "/nginx.conf", bytes: Array(nginxConfiguration.utf8), mode: 0o644, sync: false)
        try run(["nginx", "-p", nginxPrefix, "-c", nginxPrefix + "/nginx.conf"], log: "nginx-start")
        nginxStarted = true

        let store = ["--bundle-store", "file://" + root + "/bundles"]
        let sync = fsync ? [] : ["--no-fsync"]
        try launch("coordinator", ["coordinator", "--db", databasePath, "--host-id", "coordinator"] + sync)
        try launch("builder", ["agent", "-Q", "build", "--host-id", "builder", "--data-dir", root + "/build",
                               "--allow-local-sources"] + store + sync)
        try launch("frontend", ["agent", "-Q", "proxy", "--host-id", "frontend", "--data-dir", root + "/data",
                                "--nginx-prefix", nginxPrefix, "--nginx-conf", nginxPrefix + "/nginx.conf",
                                "--proxy-port", String(port), "--proxy-address", "127.0.0.1"] + store + sync)
        try launch("app1", ["agent", "-Q", "appserver_app1,database", "--host-id", "app1", "--data-dir",
                            root + "/data", "--db-engine", "sqlite"] + store + sync)
        started = true
        let deadline = Timestamp.now() + 60
        while spool.heartbeats().count < 3 || (try? database()) == nil {
            guard Timestamp.now() < deadline else {
                throw Failure("the agents or the coordinator did not start within 60 s\n" + logTails())
            }
            usleep(50_000)
        }
        try FileManager.default.copyItem(atPath: example, toPath: repository)
        try git(["init", "-q", "--initial-branch=main"])
    }

    /// Commits a change to the example's template that shows `marker` on its page.
    func changeCode(marker: String) throws {
        let template = "/greetings/templates/greetings/index.html"
        guard case .contents(let bytes, _) = try FileIO.read(example + template, limit: 1 << 20) else {
            throw Failure("no template \(example + template)")
        }
        var text = String(decoding: bytes, as: UTF8.self)
        text += "<!-- \(marker) -->\n"
        try? FileSystem.unlink(repository + template)
        try FileIO.create(repository + template, bytes: Array(text.utf8), mode: 0o644, sync: false)
        try git(["add", "-A"])
        try git(["commit", "-qm", marker])
    }

    /// The zoomdb, read-only, once the coordinator has made and migrated it.
    func database() throws -> ZoomDB? {
        if let opened { return opened }
        guard let db = try? ZoomDB(readOnlyAt: databasePath), db.schemaVersion == ZoomDB.latestSchemaVersion else {
            return nil
        }
        opened = db
        return db
    }

    /// The app's page through nginx (`GET /` with its `Host`), or "" when there is no answer.
    func page() -> String {
        let request = "GET / HTTP/1.0\r\nHost: \(DeployBenchmark.hostname)\r\nConnection: close\r\n\r\n"
        guard let socket = try? TCPSocket(address: "127.0.0.1", port: port),
              (try? socket.connect(timeout: 2)) != nil, (try? socket.send(Array(request.utf8))) != nil,
              let reply = try? socket.receive(limit: 1 << 20, until: { _ in false })
        else { return "" }
        return String(decoding: reply, as: UTF8.self)
    }

    /// The last lines of every process's log.
    func logTails() -> String {
        processes.map { name, _ in
            let text = (try? FileIO.readAll(root + "/logs/" + name + ".log")).map { String(decoding: $0.suffix(1500), as: UTF8.self) }
            return "--- \(name):\n" + (text ?? "")
        }.joined(separator: "\n")
    }

    /// Undeploys the app (its instances outlive their agent by design), then stops the processes and nginx.
    func stop() {
        if started {
            try? run([executable, "undeploy", "--project", DeployBenchmark.project, "--spool", spoolRoot], log: "undeploy",
                     environment: ["DZ_DB": databasePath])
        }
        for (_, process) in processes where process.isRunning { process.terminate() }
        let deadline = Timestamp.now() + 30
        while processes.contains(where: { $0.1.isRunning }), Timestamp.now() < deadline { usleep(50_000) }
        if nginxStarted {
            try? run(["nginx", "-p", nginxPrefix, "-c", nginxPrefix + "/nginx.conf", "-s", "stop"], log: "nginx-stop")
        }
    }

    private var nginxConfiguration: String {
        """
        worker_processes 1;
        pid \(nginxPrefix)/logs/nginx.pid;
        error_log \(nginxPrefix)/logs/error.log;
        events { worker_connections 256; }
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log off;
            client_body_temp_path \(nginxPrefix)/client_body;
            proxy_temp_path \(nginxPrefix)/proxy;
            fastcgi_temp_path \(nginxPrefix)/fastcgi;
            uwsgi_temp_path \(nginxPrefix)/uwsgi;
            scgi_temp_path \(nginxPrefix)/scgi;
            server { listen 127.0.0.1:\(port) default_server; return 404; }
            include \(nginxPrefix)/sites/*.conf;
        }

        """
    }

    /// What the processes get of the environment: a plain system `PATH` (never a pyenv's under /root, which an
    /// app's user cannot reach) and pip's and the proxies' settings.
    private var environment: [String: String] {
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": root,
                           "DZ_SPOOL": spoolRoot]
        for (key, value) in ProcessInfo.processInfo.environment
        where key.hasPrefix("PIP_") || ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                        "NO_PROXY", "SSL_CERT_FILE"].contains(key) {
            environment[key] = value
        }
        return environment
    }

    private func launch(_ name: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--spool", spoolRoot, "--log-level", "info"]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let log = try logFile(name)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        processes.append((name, process))
    }

    private func logFile(_ name: String) throws -> FileHandle {
        let path = root + "/logs/" + name + ".log"
        try? FileSystem.unlink(path)
        try FileIO.create(path, bytes: [], mode: 0o600, sync: false)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw Failure("cannot open \(path)") }
        return handle
    }

    private func git(_ arguments: [String]) throws {
        try run(["git", "-c", "user.email=bench@dz.invalid", "-c", "user.name=bench", "-C", repository] + arguments,
                log: "git", environment: ["GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"])
    }

    /// Runs a command to its end (its output kept in `logs/<log>.log`); fails unless it exits 0. Through
    /// `Subprocess` (its own waiter thread), from this synchronous code by a semaphore.
    private func run(_ command: [String], log: String, environment extra: [String: String] = [:]) throws {
        let environment = environment.merging(extra) { $1 }
        let result = Mutex<Result<Subprocess.Outcome, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<Subprocess.Outcome, any Error>
            do { outcome = .success(try await Subprocess.run(command, environment: environment, timeout: 300)) } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        guard let outcome = try result.withLock({ $0 })?.get() else { throw Failure("\(command[0]) did not run") }
        try? FileSystem.unlink(root + "/logs/" + log + ".log")
        try? FileIO.create(root + "/logs/" + log + ".log", bytes: outcome.stdout + outcome.stderr, mode: 0o600,
                           sync: false)
        guard outcome.succeeded else {
            throw Failure("\(command.joined(separator: " ")): \(outcome.ending): \(outcome.tail(10))")
        }
    }
}
