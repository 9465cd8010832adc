#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Testing
@testable import DZDeploy

extension DeployTests {
    /// Bundles of one project that carry the same virtualenv share one extraction of it on the appserver: root's,
    /// read-only to the app, in a directory of the project's alone; it goes with the last bundle that links to it.
    @Suite(.serialized, .enabled(if: DeployTests.asRoot && Subprocess.locate("bwrap") != nil))
    struct SharedVenv {
        static let ports = 29100...29499

        /// Runs `command` as `uid` (its own group, no other) on the host, outside any sandbox.
        static func run(as uid: UInt32, _ command: [String]) async throws -> Subprocess.Outcome {
            try await Subprocess.run(["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
                                      "--"] + command, environment: ["PATH": "/usr/bin:/bin", "LANG": "C"],
                                     timeout: 60)
        }

        @Test(.timeLimit(.minutes(15)))
        func twoBundlesWithOneVenvShareItReadOnlyAndItGoesWithTheLastOfThem() async throws {
            let first = try await DeployFixture.built()
            let second = try await DeployFixture.builtAgain()
            #expect(first.bundle != second.bundle)
            try await DeployFixture.withScratch { scratch in
                let settings = AppServerSettings(workspace: scratch.workspace, ports: Self.ports)
                let deploy = DeployHandler(workspace: scratch.workspace, store: first.store, settings: settings)
                let one = try await deploy.run(try DeployFixture.context("deploy", DeployFixture.deployArguments(first)))
                let two = try await deploy.run(try DeployFixture.context("deploy",
                                                                         DeployFixture.deployArguments(second)))
                let records = InstanceDirectory(root: settings.instancesRoot)
                let installedOne = try #require(try records.installedBundle(project: "hello", bundle: first.bundle))
                let installedTwo = try #require(try records.installedBundle(project: "hello", bundle: second.bundle))
                let key = try #require(installedOne.venv)
                #expect(installedTwo.venv == key, "the same venv entries and interpreter: one key")
                let venvs = settings.appsRoot + "/.venvs/hello"
                let shared = venvs + "/" + key
                for bundle in [first.bundle, second.bundle] {
                    let link = settings.appDirectory("hello") + "/" + bundle + "/venv"
                    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == shared)
                }
                #expect(try FileSystem.names(in: venvs).filter { !$0.hasPrefix(".") } == [key], "extracted once")

                // Root's; the app's group may enter the project's directory, nobody else; nothing is the app's.
                let user = DeployFixture.appUser()
                let top = try FileSystem.linkStatus(venvs)
                #expect(top.owner == 0 && top.group == user.uid && top.permissions & 0o7777 == 0o750)
                let django = try #require(FileManager.default.enumerator(atPath: shared)?.allObjects
                    .compactMap { $0 as? String }.first { $0.hasSuffix("site-packages/django/__init__.py") })
                let file = try FileSystem.linkStatus(shared + "/" + django)
                #expect(file.owner == 0 && file.permissions & 0o7777 == 0o644)
                #expect(try FileSystem.linkStatus(shared).permissions & 0o7777 == 0o755)
                #expect(try await Self.run(as: user.uid, ["/usr/bin/cat", shared + "/" + django]).succeeded,
                        "the app reads its venv")
                let write = try await Self.run(as: user.uid, ["/usr/bin/touch", shared + "/planted",
                                                                shared + "/" + django])
                #expect(!write.succeeded && !FileSystem.exists(shared + "/planted"), "and cannot change it")
                let stranger = try await Self.run(as: 65534, ["/usr/bin/ls", shared])
                #expect(!stranger.succeeded, "another user cannot even list it")

                // Both releases run on it (the sandbox shows it read-only), each on its own code.
                for output in [one, two] {
                    let port = Int(try #require(output["port"]?.intValue))
                    #expect(await DeployFixture.status(port: port, path: "/dz-health") == 404)
                }

                // The shared venv stays while a bundle links to it and goes with the last one.
                let stop = StopInstancesHandler(settings: settings)
                _ = try await stop.run(try DeployFixture.context("stop_instances", [
                    "project": .string("hello"), "instances": .array([one["instance"] ?? .null]), "grace_s": .int(5),
                ]))
                #expect(FileSystem.exists(shared), "the second bundle still links to it")
                _ = try await stop.run(try DeployFixture.context("stop_instances", [
                    "project": .string("hello"), "instances": .array([two["instance"] ?? .null]), "grace_s": .int(5),
                ]))
                #expect(!FileSystem.exists(shared), "no bundle links to it any more")

                // A redeploy of a removed bundle (a rollback) installs it again, venv and all.
                let again = try await deploy.run(try DeployFixture.context("deploy",
                                                                           DeployFixture.deployArguments(first)))
                #expect(FileSystem.exists(shared))
                let port = Int(try #require(again["port"]?.intValue))
                #expect(await DeployFixture.status(port: port, path: "/dz-health") == 404)
            }
        }
    }
}
