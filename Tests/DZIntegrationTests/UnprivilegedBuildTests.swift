import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// A build host as it is meant to run: the build agent as an unprivileged user (here `nobody`, as a `dz` user
    /// would be), its spool and data directory its own. The project's code then runs in a user namespace of the
    /// agent's user (no uid is allocated, nothing needs root), and examples/hello still builds whole.
    @Suite(.serialized) struct UnprivilegedBuildTests {
        static let nobody: UInt32 = 65534

        @Test(.timeLimit(.minutes(20)))
        func unprivilegedAgentBuildsTheExampleInAUserNamespace() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let repository = spool.directory + "/hello"
            try FileManager.default.copyItem(atPath: DeployTests.example, toPath: repository)
            for arguments in [["init", "-q", "--initial-branch=main"], ["add", "-A"],
                              ["-c", "user.email=t@dz.invalid", "-c", "user.name=t", "commit", "-qm", "hello"]] {
                let outcome = try await Subprocess.run(
                    ["git"] + arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": spool.directory,
                                                       "GIT_CONFIG_NOSYSTEM": "1"],
                    workingDirectory: repository, timeout: 60)
                try #require(outcome.succeeded, "git \(arguments): \(outcome.tail())")
            }
            let config = "[project]\ndjango_settings_module = hello.settings\nrequirements_files = requirements.txt\n"
                + "database_type = sqlite\n"
            let id = try await spool.send("build_bundle", "--arg", "project=hello", "--arg", "source=" + repository,
                                          "--arg", "zoombuild_cfg=" + config, "--timeout", "20m")
            // Everything the agent works on is its user's, as a dz user's would be.
            let chown = try await Subprocess.run(["chown", "-R", "\(Self.nobody):\(Self.nobody)", "--", spool.directory],
                                                 timeout: 120)
            try #require(chown.succeeded, "\(chown.tail())")
            chmod(spool.directory, 0o755)

            let data = spool.directory + "/data"
            let agent = try await spool.tool(
                "/usr/bin/setpriv",
                ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--", try DZBinary.path(),
                 "agent", "-Q", "build", "--drain", "--host-id", "builder", "--spool", spool.root, "--data-dir", data,
                 "--allow-local-sources"],
                timeout: 1200)
            #expect(agent.status == 0, "\(agent.stderr.suffix(3000))")
            let resultPath = spool.root + "/results/new/" + id + ".json"
            let result = try JSONValue.parse(try FileIO.readAll(resultPath)).objectValue ?? [:]
            #expect(result["status"]?.stringValue == "ok", "\(result["error"] ?? .null)")
            let output = result["output"]?.objectValue ?? [:]
            let archive = try #require(output["archive"]?.stringValue)
            let build = try #require(output["build_directory"]?.stringValue)

            func owner(_ path: String) throws -> (uid: Int, mode: Int) {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                return (attributes[.ownerAccountID] as? Int ?? -1, attributes[.posixPermissions] as? Int ?? -1)
            }
            #expect(try owner(archive) == (Int(Self.nobody), 0o600))
            #expect(try owner(build) == (Int(Self.nobody), 0o700))
            // The virtualenv stays in the project's cache (the build tree's venv/ is only where it is shown).
            let venvs = data + "/caches/hello/venvs"
            let venv = try #require(try FileSystem.names(in: venvs).first { !$0.contains(".") })
            #expect(try owner(venvs + "/" + venv + "/lib").uid == Int(Self.nobody), "the venv was made as the agent's user")
            #expect(try FileSystem.names(in: build + "/venv") == [])
            #expect(try owner(build + "/static/greetings/style.css").uid == Int(Self.nobody))
            #expect(!FileSystem.exists(data + "/build-users"), "no build uid: the agent is not root")
            let manifest = try BundleManifestProbe.files(in: archive)
            #expect(manifest.contains("static/greetings/style.css"))
            #expect(manifest.contains { $0.hasPrefix("venv/lib/python") && $0.hasSuffix("/site-packages/dz_project.pth") })
        }
    }

    /// The paths a bundle holds, read with tar (the integration tests do not link the work target).
    enum BundleManifestProbe {
        static func files(in archive: String) throws -> Set<String> {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            process.arguments = ["--zstd", "-tf", archive]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map {
                String($0.hasSuffix("/") ? $0.dropLast() : $0)
            })
        }
    }
}
