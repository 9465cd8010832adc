import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZBuild
@testable import DZDeploy
#endif

/// `read_logs` on a scratch appserver and proxy: only whitelisted files, never through a link, the tail and the
/// offsets of `dz logs -f`.
@Suite struct ReadLogsTests {
    static let instance = "bundle_hello_1.app1.23001"

    /// An appserver with one recorded instance of `hello` and its two logs, and a proxy logs directory.
    final class Host {
        let root: String
        let handler: ReadLogsHandler

        init() throws {
            root = FileManager.default.temporaryDirectory.path + "/dz-readlogs-" + UUID().uuidString
            let workspace = Workspace(root: root + "/var")
            let appServer = AppServerSettings(workspace: workspace, appsRoot: root + "/apps",
                                              instancesRoot: root + "/instances")
            let proxy = ProxySettings(workspace: workspace, logsDirectory: root + "/nginx-logs")
            handler = ReadLogsHandler(appServer: appServer, proxy: proxy)
            for directory in [logs, root + "/nginx-logs", root + "/apps/hello/bundle_hello_1/dz"] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let record = InstanceRecord(
                instance: ReadLogsTests.instance, project: "hello", bundle: "bundle_hello_1", appserver: "app1",
                address: "127.0.0.1", port: 23001, pid: 0, uid: getuid(), gid: getgid(), user: "dz_hello",
                switchesUser: false, workers: 1, wsgi: "hello.wsgi", argv: ["true"], sandbox: [],
                appDirectory: root + "/apps/hello", pidFile: root + "/apps/hello/run/x.pid", started: "", restarts: 0,
                recentRestarts: [], job: nil, task: nil, state: .running)
            try InstanceDirectory(root: root + "/instances").save(record)
        }

        var logs: String { root + "/apps/hello/logs" }
        var errorLog: String { logs + "/" + ReadLogsTests.instance + ".error.log" }
        var accessLog: String { logs + "/" + ReadLogsTests.instance + ".access.log" }
        var siteLog: String { root + "/nginx-logs/dz_hello.access.log" }

        func write(_ text: String, to path: String) throws {
            try? FileManager.default.removeItem(atPath: path)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }

        func append(_ text: String, to path: String) throws {
            let handle = try #require(FileHandle(forWritingAtPath: path))
            defer { try? handle.close() }
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
        }

        func run(_ args: [String: JSONValue]) async throws -> [String: JSONValue] {
            try await handler.run(context(args))
        }

        func failure(_ args: [String: JSONValue]) async -> TaskFailure? {
            do {
                _ = try await handler.run(try context(args))
                return nil
            } catch let failure as TaskFailure {
                return failure
            } catch {
                return TaskFailure(kind: "other", message: "\(error)", retryable: false)
            }
        }

        /// The file `name` of a result.
        func file(_ output: [String: JSONValue], _ name: String) throws -> [String: JSONValue] {
            try #require(output["files"]?.arrayValue?.compactMap(\.objectValue).first { $0["name"]?.stringValue == name },
                         "no \(name) in \(output)")
        }

        func lines(_ file: [String: JSONValue]) -> [String] { (file["lines"]?.arrayValue ?? []).compactMap(\.stringValue) }

        func since(_ file: [String: JSONValue]) -> JSONValue {
            .object([file["name"]!.stringValue!: .object(["offset": file["offset"]!, "inode": file["inode"]!])])
        }

        private func context(_ args: [String: JSONValue]) throws -> TaskContext {
            TaskContext(task: TaskFile(id: try TaskID("t"), task: "read_logs", args: args),
                        queue: try QueueName("appserver_app1"), host: try HostID("app1"),
                        logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    static func numbered(_ range: ClosedRange<Int>) -> String { range.map { "line \($0)\n" }.joined() }

    @Test func returnsTheLastLinesOfEachInstanceLog() async throws {
        let host = try Host()
        try host.write(Self.numbered(1...150), to: host.errorLog)
        try host.write("GET / 200\n", to: host.accessLog)
        let output = try await host.run(["project": .string("hello"), "lines": .int(10)])
        #expect(output["source"] == .string("instances"))
        #expect(output["queue"] == .string("appserver_app1"))
        let error = try host.file(output, Self.instance + ".error.log")
        #expect(host.lines(error) == (141...150).map { "line \($0)" })
        #expect(error["stream"] == .string("error"))
        #expect(error["instance"] == .string(Self.instance))
        let size = Int64(Self.numbered(1...150).utf8.count)
        #expect(error["offset"] == .int(size) && error["size"] == .int(size))
        #expect(error["skipped_bytes"] == .int(Int64(Self.numbered(1...140).utf8.count)))
        #expect(host.lines(try host.file(output, Self.instance + ".access.log")) == ["GET / 200"])
        let byDefault = try await host.run(["project": .string("hello")])
        #expect(host.lines(try host.file(byDefault, Self.instance + ".error.log")).count == 100)
    }

    @Test func readsOnFromAnOffsetAndHoldsBackAnUnfinishedLine() async throws {
        let host = try Host()
        try host.write(Self.numbered(1...5), to: host.errorLog)
        try host.write("", to: host.accessLog)
        let first = try host.file(try await host.run(["project": .string("hello")]), Self.instance + ".error.log")
        try host.append("line 6\nline 7\nhalf of 8", to: host.errorLog)
        let second = try host.file(try await host.run(["project": .string("hello"), "since": host.since(first)]),
                                   Self.instance + ".error.log")
        #expect(host.lines(second) == ["line 6", "line 7"], "only the new complete lines")
        #expect(second["skipped_bytes"] == .int(0) && second["restarted"] == .bool(false))
        #expect(second["offset"] == .int(Int64(Self.numbered(1...7).utf8.count)))
        let unchanged = try host.file(try await host.run(["project": .string("hello"), "since": host.since(second)]),
                                      Self.instance + ".error.log")
        #expect(host.lines(unchanged).isEmpty && unchanged["offset"] == second["offset"])
        try host.append(" done\n", to: host.errorLog)
        let third = try host.file(try await host.run(["project": .string("hello"), "since": host.since(second)]),
                                  Self.instance + ".error.log")
        #expect(host.lines(third) == ["half of 8 done"])
        // A bare offset works too, and names of other files are ignored.
        let bare = try host.file(try await host.run([
            "project": .string("hello"),
            "since": .object([Self.instance + ".error.log": .int(0), "../../etc/shadow": .int(3)]),
        ]), Self.instance + ".error.log")
        #expect(host.lines(bare).count == 8)
    }

    @Test func aTruncatedOrRotatedLogIsReadFromItsStart() async throws {
        let host = try Host()
        try host.write(Self.numbered(1...20), to: host.errorLog)
        let before = try host.file(try await host.run(["project": .string("hello")]), Self.instance + ".error.log")
        try host.write("after truncation\n", to: host.errorLog)
        let truncated = try host.file(try await host.run(["project": .string("hello"), "since": host.since(before)]),
                                      Self.instance + ".error.log")
        #expect(truncated["restarted"] == .bool(true))
        #expect(host.lines(truncated) == ["after truncation"])
        // Rotated: a new, longer file under the name (another inode); the offset alone would hide its start.
        try FileManager.default.moveItem(atPath: host.errorLog, toPath: host.errorLog + ".1")
        try Data(Self.numbered(1...30).utf8).write(to: URL(fileURLWithPath: host.errorLog))
        let rotated = try host.file(try await host.run(["project": .string("hello"), "since": host.since(truncated)]),
                                    Self.instance + ".error.log")
        #expect(rotated["restarted"] == .bool(true))
        #expect(host.lines(rotated).first == "line 1" && host.lines(rotated).count == 30)
    }

    @Test func hostileArgumentsAreRefused() async throws {
        let host = try Host()
        let bad: [[String: JSONValue]] = [
            ["project": .string("../etc")], ["project": .string("a/b")], ["project": .string("Hello")],
            ["project": .string("hello"), "instances": .array([.string("../../etc/passwd")])],
            ["project": .string("hello"), "instances": .array([.string("a/b")])],
            ["project": .string("hello"), "instances": .string(Self.instance)],
            ["project": .string("hello"), "lines": .int(0)], ["project": .string("hello"), "lines": .int(1001)],
            ["project": .string("hello"), "lines": .double(2.5)],
            ["project": .string("hello"), "source": .string("/etc/passwd")],
            ["project": .string("hello"), "since": .string("0")],
            ["project": .string("hello"), "since": .object(["x": .int(-1)])],
        ]
        for args in bad {
            #expect(await host.failure(args)?.kind == "bad-args", "\(args)")
        }
    }

    @Test func onlyRecordedInstancesAreRead() async throws {
        let host = try Host()
        // A log of an instance this host has no record of: never read, even when asked for by name.
        try host.write("not recorded\n", to: host.logs + "/bundle_hello_1.app1.23009.error.log")
        try host.write("x\n", to: host.errorLog)
        let output = try await host.run(["project": .string("hello"),
                                         "instances": .array([.string("bundle_hello_1.app1.23009")])])
        #expect(output["files"] == .array([]))
        #expect(output["missing"] == .array([.string("bundle_hello_1.app1.23009")]))
        let other = try await host.run(["project": .string("other")])
        #expect(other["files"] == .array([]), "another project's records are not this one's")
    }

    @Test func aLinkOrAnotherUsersFileIsRefused() async throws {
        let host = try Host()
        let secret = host.root + "/secret"
        try host.write("root's secret\n", to: secret)
        #expect(symlink(secret, host.errorLog) == 0)
        try host.write("fine\n", to: host.accessLog)
        let output = try await host.run(["project": .string("hello")])
        let error = try host.file(output, Self.instance + ".error.log")
        #expect(error["error"] == .string("refused: a symbolic link"))
        #expect(error["lines"] == nil)
        #expect(host.lines(try host.file(output, Self.instance + ".access.log")) == ["fine"])
        #expect(!JSONValue.object(output).jsonText.contains("root's secret"))

        // A FIFO is not a log (and does not block the read).
        unlink(host.errorLog)
        #expect(mkfifo(host.errorLog, 0o600) == 0)
        let fifo = try host.file(try await host.run(["project": .string("hello")]), Self.instance + ".error.log")
        #expect(fifo["error"] == .string("refused: not a regular file of the app's user"))

        // A hard link to a file of another user (as an app could make) is not the app's own file.
        unlink(host.errorLog)
        if getuid() == 0 {
            #expect(chown(secret, 65534, 65534) == 0)
            #expect(link(secret, host.errorLog) == 0)
            let linked = try host.file(try await host.run(["project": .string("hello")]), Self.instance + ".error.log")
            #expect(linked["error"] == .string("refused: not a regular file of the app's user"))
            unlink(host.errorLog)
        }

        // The logs directory itself replaced by a link.
        try FileManager.default.moveItem(atPath: host.logs, toPath: host.root + "/elsewhere")
        #expect(symlink(host.root + "/elsewhere", host.logs) == 0)
        let viaLink = try host.file(try await host.run(["project": .string("hello")]), Self.instance + ".access.log")
        #expect(viaLink["error"] == .string("refused: a symbolic link or not a directory"))
    }

    @Test func theSiteLogComesFromTheProxyLogsDirectory() async throws {
        let host = try Host()
        try host.write(Self.numbered(1...3), to: host.siteLog)
        let output = try await host.run(["project": .string("hello"), "source": .string("site"), "lines": .int(2)])
        #expect(output["source"] == .string("site"))
        let site = try host.file(output, "dz_hello.access.log")
        #expect(host.lines(site) == ["line 2", "line 3"])
        #expect(site["stream"] == .string("access"))
        let missing = try await host.run(["project": .string("other"), "source": .string("site")])
        #expect(try host.file(missing, "dz_other.access.log")["error"] == .string("missing"))
        unlink(host.siteLog)
        #expect(symlink(host.errorLog, host.siteLog) == 0)
        let linked = try await host.run(["project": .string("hello"), "source": .string("site")])
        #expect(try host.file(linked, "dz_hello.access.log")["error"] == .string("refused: a symbolic link"))
    }

    @Test func linesAreBoundedCleanedAndMasked() async throws {
        let host = try Host()
        try host.write(RuntimeEnvironment(variables: ["DZ_SECRET_KEY": "k3y-of-the-app"]).text,
                       to: host.root + "/apps/hello/bundle_hello_1/dz/runtime.env")
        let long = String(repeating: "x", count: 10_000)
        try host.write("the key is k3y-of-the-app\n\u{1B}[31mred\r\n" + long + "\n", to: host.errorLog)
        let lines = host.lines(try host.file(try await host.run(["project": .string("hello")]),
                                             Self.instance + ".error.log"))
        #expect(lines.count == 3)
        #expect(lines[0] == "the key is ***", "the app's secret key is masked")
        #expect(lines[1] == "?[31mred", "no escape sequence reaches the terminal; CR dropped")
        #expect(lines[2].hasPrefix(String(repeating: "x", count: 4096)) && lines[2].hasSuffix("[cut: 5904 more bytes]"))

        // A log far larger than the budget: only its end is read.
        let big = String(repeating: String(repeating: "y", count: 999) + "\n", count: 2000) + "last\n"
        try host.write(big, to: host.errorLog)
        let file = try host.file(try await host.run(["project": .string("hello"), "lines": .int(1000)]),
                                 Self.instance + ".error.log")
        let tail = host.lines(file)
        #expect(tail.last == "last")
        // Two files (error and access log) share the budget: 128 KiB, about 131 of these lines.
        #expect((tail.count - 1) * 1000 <= ReadLogsHandler.byteBudget / 2 && tail.count > 100, "\(tail.count) lines")
        #expect(tail.allSatisfy { $0 == "last" || $0.count == 999 }, "no partial first line")
        #expect((file["skipped_bytes"]?.intValue ?? 0) > 1_800_000)
    }

    @Test func aWindowThatStartsOnALineBoundaryKeepsThatLine() {
        let tail = LogTail(lines: 10, byteLimit: 6, since: nil)
        let bytes = Array("aaaa\nbbbbb\n".utf8)
        let plan = tail.range(size: bytes.count, inode: 1)
        #expect(plan.read == 4..<11, "one byte before the window, to see whether it ends a line")
        let excerpt = tail.excerpt(name: "x", bytes: Array(bytes[plan.read]), read: plan.read, base: plan.base,
                                   restarted: false, size: bytes.count, inode: 1, secrets: [])
        #expect(excerpt.lines == ["bbbbb"])
        #expect(excerpt.offset == 11 && excerpt.skippedBytes == 5)
    }
}
