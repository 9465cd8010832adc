#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Testing
@testable import DZBuild

/// The build sandbox on its own, with real bubblewrap: who the code runs as, what it sees of the host, its
/// network, and the size watch; both as a root agent runs it and as an unprivileged agent does (the test, root,
/// switches to `nobody` first). Also the build users' allocation and the caps' parsing.
@Suite(.serialized) struct BuildSandboxTests {
    /// What the probe reports from inside: identity, capabilities, what it could read, list and write.
    static let probe = """
        import ctypes, json, os, socket, sys
        paths = json.loads(sys.argv[1])
        report = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "environ": sorted(os.environ),
                  "interfaces": [name for _, name in socket.if_nameindex()], "read": {}, "list": {}, "wrote": {}}
        for line in open("/proc/self/status"):
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs"):
                report[key] = value.strip()
        for path in paths["read"]:
            try:
                report["read"][path] = open(path, "rb").read(4096).decode("latin-1")
            except Exception as error:
                report["read"][path] = "error: " + type(error).__name__
        for path in paths["list"]:
            try:
                report["list"][path] = sorted(os.listdir(path))
            except Exception as error:
                report["list"][path] = "error: " + type(error).__name__
        for path in paths["write"]:
            try:
                with open(path, "w") as out:
                    out.write("written from the sandbox")
                report["wrote"][path] = "written"
            except Exception as error:
                report["wrote"][path] = "error: " + type(error).__name__
        libc = ctypes.CDLL(None, use_errno=True)
        child = os.fork()
        if child == 0:
            os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
        report["new user namespace"] = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0
        print(json.dumps(report))
        """

    struct Scratch {
        let root: String
        let workspace: Workspace
        /// A tree of the build's, shown writable at /dz/build.
        let tree: String
        let temporary: String
        /// A host file the sandbox must not see.
        let secret: String

        init() throws {
            var template = Array("/tmp/dz-sandbox-XXXXXX".utf8CString)
            root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            workspace = Workspace(root: root + "/data")
            tree = root + "/data/builds/tree"
            temporary = root + "/data/builds/tree.tmp"
            secret = root + "/data/checkouts/victim/src/secret.txt"
            for directory in [tree, temporary, root + "/data/checkouts/victim/src"] {
                try FileSystem.makeDirectories(directory, mode: 0o755)
            }
            try FileIO.create(secret, bytes: Array("VICTIM-SECRET".utf8), mode: 0o644, sync: false)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }

        /// Runs the probe in `sandbox`, the command prefixed with `prefix`, and decodes its report.
        func probe(_ sandbox: BuildSandbox, network: BuildSandbox.Network, prefix: [String] = []) async throws
            -> [String: Any]
        {
            let paths: [String: [String]] = [
                "read": ["/etc/shadow", "/etc/passwd", "/etc/dz/agent.env", secret, "/root/.bash_history"],
                "list": ["/", "/dz", "/etc", "/tmp", root, root + "/data", "/home", "/proc"],
                "write": ["/dz/build/out.txt", "/tmp/out.txt", "/usr/out.txt", "/etc/out.txt", "/out.txt",
                          root + "/data/checkouts/victim/src/planted.txt"],
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: paths), as: UTF8.self)
            let command = prefix + sandbox.arguments(
                ["/usr/bin/python3", "-I", "-c", BuildSandboxTests.probe, json],
                mounts: [.init(tree, at: BuildSandbox.buildPath, writable: true)], temporary: temporary,
                network: network, workingDirectory: BuildSandbox.buildPath)
            let outcome = try await Subprocess.run(command, environment: sandbox.environment(), timeout: 60)
            try #require(outcome.succeeded, "the probe failed: \(outcome.tail())")
            let report = try JSONSerialization.jsonObject(with: Data(outcome.stdout)) as? [String: Any]
            return try #require(report)
        }
    }

    /// What every sandbox must show, whoever runs it.
    func expectConfined(_ report: [String: Any], _ scratch: Scratch) {
        let read = report["read"] as? [String: String] ?? [:]
        #expect(read["/etc/shadow"]?.hasPrefix("error: FileNotFound") == true, "\(read["/etc/shadow"] ?? "")")
        #expect(read["/etc/dz/agent.env"]?.hasPrefix("error: FileNotFound") == true)
        #expect(read[scratch.secret]?.hasPrefix("error: FileNotFound") == true, "another project's file is visible")
        #expect(read["/root/.bash_history"]?.hasPrefix("error: FileNotFound") == true)
        let passwd = read["/etc/passwd"] ?? ""
        #expect(passwd.contains("dzbuild:x:"), "\(passwd)")
        #expect(!passwd.contains("daemon:") && !passwd.contains("postgres:"), "the host's users are visible: \(passwd)")
        let list = report["list"] as? [String: Any] ?? [:]
        #expect((list["/"] as? [String]).map { Set($0).isSubset(of: ["bin", "dev", "dz", "etc", "lib", "lib32", "lib64",
                                                                     "libx32", "proc", "sbin", "tmp", "usr"]) } == true,
                "\(list["/"] ?? "")")
        #expect(list["/dz"] as? [String] == ["build"])
        #expect((list["/etc"] as? [String])?.contains("shadow") == false)
        #expect((list["/tmp"] as? [String]) == [], "the sandbox's /tmp is the build's own, empty")
        #expect((list[scratch.root] as? String)?.hasPrefix("error: FileNotFound") == true, "\(list[scratch.root] ?? "")")
        #expect((list["/home"] as? String)?.hasPrefix("error: FileNotFound") == true)
        #expect((list["/proc"] as? [String])?.filter { $0.allSatisfy(\.isNumber) }.count ?? 99 <= 3,
                "only the sandbox's own processes: \(list["/proc"] ?? "")")
        let wrote = report["wrote"] as? [String: String] ?? [:]
        #expect(wrote["/dz/build/out.txt"] == "written")
        #expect(wrote["/tmp/out.txt"] == "written")
        for path in ["/usr/out.txt", "/etc/out.txt", "/out.txt", scratch.root + "/data/checkouts/victim/src/planted.txt"] {
            #expect(wrote[path]?.hasPrefix("error: ") == true, "\(path): \(wrote[path] ?? "")")
        }
        #expect(FileSystem.exists(scratch.tree + "/out.txt"))
        #expect(FileSystem.exists(scratch.temporary + "/out.txt"))
        #expect(!FileSystem.exists(scratch.root + "/data/checkouts/victim/src/planted.txt"))
        #expect(report["CapEff"] as? String == "0000000000000000")
        #expect(report["CapPrm"] as? String == "0000000000000000")
        #expect(report["NoNewPrivs"] as? String == "1")
        #expect(report["environ"] as? [String] == ["HOME", "LANG", "LOGNAME", "PATH", "PWD", "TMPDIR", "USER"],
                "nothing of the agent's environment: \(report["environ"] ?? "")")
    }

    @Test func rootAgentRunsCodeAsTheProjectsBuildUserWithNoCapabilityAndNoViewOfTheHost() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let identity = BuildIdentity.projectUser(uid: BuildUsers.firstUID + 999_000, gid: BuildUsers.firstUID + 999_000)
        let sandbox = try BuildSandbox.prepare(identity: identity, workspace: scratch.workspace)
        try await sandbox.handOver([scratch.tree, scratch.temporary], recursive: true)
        let report = try await scratch.probe(sandbox, network: .none)
        #expect(report["uid"] as? Int == Int(identity.uid))
        #expect(report["gid"] as? Int == Int(identity.gid))
        #expect(report["groups"] as? [Int] == [])
        #expect(report["CapBnd"] as? String == "0000000000000000")
        expectConfined(report, scratch)
        #expect(report["interfaces"] as? [String] == ["lo"], "no network but a loopback of its own")
        #expect((try FileSystem.linkStatus(scratch.tree + "/out.txt")).kind == .regular)
        let owner = try FileManager.default.attributesOfItem(atPath: scratch.tree + "/out.txt")[.ownerAccountID] as? Int
        #expect(owner == Int(identity.uid), "what the code writes is the build user's")

        let networked = try await scratch.probe(sandbox, network: .host)
        #expect((networked["interfaces"] as? [String])?.count ?? 0 > 1, "pip's step has the host's network")
    }

    @Test func unprivilegedAgentRunsCodeInAUserNamespaceWithNoViewOfTheHost() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let nobody: UInt32 = 65534
        let sandbox = try BuildSandbox.prepare(identity: .agentUser(uid: nobody, gid: nobody),
                                               workspace: scratch.workspace)
        // The agent's own files are its user's: the data directory is nobody's here, as it would be dz's.
        let chown = try await Subprocess.run(["chown", "-R", "\(nobody):\(nobody)", "--", scratch.root], timeout: 60)
        try #require(chown.succeeded)
        chmod(scratch.root, 0o755)
        let asNobody = ["/usr/bin/setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--"]
        let report = try await scratch.probe(sandbox, network: .none, prefix: asNobody)
        #expect(report["uid"] as? Int == Int(nobody))
        expectConfined(report, scratch)
        #expect(report["interfaces"] as? [String] == ["lo"])
        #expect(report["new user namespace"] as? Bool == false, "no further user namespace (--disable-userns)")
    }

    @Test func watchedStepIsKilledWhenItsTreeGrowsPastTheBound() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let identity = BuildIdentity.projectUser(uid: BuildUsers.firstUID + 999_001, gid: BuildUsers.firstUID + 999_001)
        var sandbox = try BuildSandbox.prepare(identity: identity, workspace: scratch.workspace)
        sandbox.watchInterval = 0.2
        try await sandbox.handOver([scratch.tree, scratch.temporary], recursive: true)
        let fill = "import time\nwith open('/dz/build/fill', 'wb') as out:\n    while True:\n"
            + "        out.write(bytes(1 << 20)); out.flush(); time.sleep(0.01)\n"
        let watch = BuildSandbox.SizeWatch(paths: [scratch.tree, scratch.temporary], maxBytes: 8 << 20,
                                           maxEntries: 1000, what: "the build", option: "dz agent --max-bundle-size")
        do {
            _ = try await sandbox.run(["/usr/bin/python3", "-I", "-c", fill], step: "fill",
                                      mounts: [.init(scratch.tree, at: BuildSandbox.buildPath, writable: true)],
                                      temporary: scratch.temporary, timeout: 120, watch: [watch])
            Issue.record("a step writing without end was not stopped")
        } catch {
            #expect(error.kind == "too-large")
            #expect(error.message.contains("the build grew past 8 MiB"), "\(error.message)")
            #expect(error.message.contains("--max-bundle-size"))
        }
        let size = (try? FileSystem.linkStatus(scratch.tree + "/fill"))?.size ?? 0
        #expect(size < 200 << 20, "stopped near the bound, not at the disk's end: \(size) bytes")
    }

    @Test func buildUsersAreAllocatedOncePerProjectAndNeverShared() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let users = BuildUsers(workspace: scratch.workspace)
        let first = try users.uid(for: try ProjectID("shop"))
        #expect((BuildUsers.firstUID...BuildUsers.lastUID).contains(first))
        #expect(try users.uid(for: try ProjectID("shop")) == first)
        #expect(try BuildUsers(workspace: scratch.workspace).uid(for: try ProjectID("shop")) == first, "kept on disk")
        let projects = try (0..<8).map { try ProjectID("p\($0)") } + [try ProjectID("blog")]
        let allocated = try await withThrowingTaskGroup(of: (String, UInt32).self) { group in
            for project in projects + projects {
                group.addTask { (project.rawValue, try users.uid(for: project)) }
            }
            var found: [String: Set<UInt32>] = [:]
            for try await (project, uid) in group { found[project, default: []].insert(uid) }
            return found
        }
        #expect(allocated.values.allSatisfy { $0.count == 1 }, "one uid per project, however many ask at once")
        let uids = allocated.values.compactMap(\.first) + [first]
        #expect(Set(uids).count == uids.count, "no two projects share a uid: \(allocated)")
        let mode = try FileManager.default.attributesOfItem(atPath: users.directory)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }
}
