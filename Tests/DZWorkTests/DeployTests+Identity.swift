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
    /// The app's unix user on a real host: made once, under the host-wide lock, from what the coordinator
    /// allocated; anything on the host that is not that user exactly is refused.
    @Suite(.serialized) struct Identity {
        static let ports = 26000...26999

        /// Removes users and groups a test made, whatever state it left them in.
        static func remove(users: [String]) async {
            for name in users {
                _ = try? await Subprocess.run(["userdel", name], timeout: 60)
                _ = try? await Subprocess.run(["groupdel", name], timeout: 60)
            }
        }

        /// Runs `body` with the users `names` absent before and removed after, whether it threw or not.
        static func withoutUsers(_ names: [String], _ body: () async throws -> Void) async throws {
            await remove(users: names)
            let result: Result<Void, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            await remove(users: names)
            try result.get()
        }

        @Test(.enabled(if: DeployTests.asRoot), .timeLimit(.minutes(15)))
        func twoDeployStepsOfANewProjectOnOneAppserverBothStartAsOneUser() async throws {
            let built = try await DeployFixture.built()
            try await DeployFixture.withScratch { scratch in
                // A new project on this host: its user does not exist yet, and both steps want it at once.
                await Self.remove(users: [DeployFixture.appUser().name])
                #expect(UserDatabase.user(named: "dz_hello") == nil)
                let settings = AppServerSettings(workspace: scratch.workspace, ports: Self.ports)
                let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: settings)
                let args = DeployFixture.deployArguments(built)
                let outputs = try await withThrowingTaskGroup(of: [String: JSONValue].self) { group in
                    for index in 0..<2 {
                        group.addTask { try await deploy.run(try DeployFixture.context("deploy", args, id: "t-\(index)")) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(outputs.count == 2)
                let allocated = DeployFixture.appUser()
                let user = try #require(UserDatabase.user(named: allocated.name))
                #expect(user.uid == allocated.uid && user.comment == "dz app hello")
                for output in outputs {
                    let pid = Int32(try #require(output["pid"]?.intValue))
                    let port = Int(try #require(output["port"]?.intValue))
                    #expect(output["user"] == .string(allocated.name))
                    #expect(DeployFixture.uid(of: pid) == allocated.uid, "each master runs as the one user")
                    #expect(await DeployFixture.status(port: port, path: "/dz-health") == 404,
                            "each instance reads its bundle and answers")
                }
                #expect(Set(outputs.compactMap { $0["port"]?.intValue }).count == 2)
            }
        }

        @Test(.enabled(if: DeployTests.asRoot))
        func anExistingUserDzDidNotMakeForTheProjectIsRefused() async throws {
            let project = try ProjectID("dzidtest")
            let name = "dz_dzidtest"
            try await Self.withoutUsers([name]) {
            // Same name, made by someone else (no dz comment, another uid): never taken over.
            let made = try await Subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", name],
                                                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 60)
            try #require(made.succeeded, "\(made.tail())")
            let squatter = try #require(UserDatabase.user(named: name))
            do {
                _ = try await AppUser.ensure(for: project, allocated: AppUser.Allocation(name: name, uid: 70999),
                                             logger: Logger(label: "test"))
                Issue.record("a user dz did not make was taken")
            } catch let error as DeployError {
                #expect(error.description.contains("not the one dz made for project dzidtest"), "\(error)")
                #expect(error.taskFailure.kind == "user" && !error.taskFailure.retryable)
            }
            #expect(UserDatabase.user(named: name) == squatter, "and left as it was")
            }
        }

        @Test(.enabled(if: DeployTests.asRoot))
        func aUidAnotherAccountHoldsIsRefusedAndNothingIsMade() async throws {
            let project = try ProjectID("dzidtest2")
            let holder = "dzidholder"
            try await Self.withoutUsers([holder, "dz_dzidtest2"]) {
            let made = try await Subprocess.run(["useradd", "--uid", "70998", "--no-create-home", "--user-group", holder],
                                                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 60)
            try #require(made.succeeded, "\(made.tail())")
            do {
                _ = try await AppUser.ensure(for: project, allocated: AppUser.Allocation(name: "dz_dzidtest2", uid: 70998),
                                             logger: Logger(label: "test"))
                Issue.record("a uid another account holds was given to an app")
            } catch let error as DeployError {
                #expect(error.description.contains("belongs to user \(holder)"), "\(error)")
            }
            #expect(UserDatabase.user(named: "dz_dzidtest2") == nil)
            #expect(UserDatabase.group(named: "dz_dzidtest2") == nil)
            }
        }

        @Test(.enabled(if: DeployTests.asRoot))
        func aDeployWithoutAnAllocatedUserIsRefusedAsRoot() async throws {
            do {
                _ = try await AppUser.ensure(for: DeployFixture.project, allocated: nil, logger: Logger(label: "test"))
                Issue.record("root made up a user")
            } catch {
                #expect(error.description.contains("allocated by the coordinator"), "\(error)")
            }
        }
    }
}
