import DZSpool
import Foundation
import Testing

extension Integration {
    /// Jobs that change what runs (deploys, rollbacks, config, scale, undeploy, ...) run one at a time per project:
    /// a second one waits, with no step, until the first ends; another project's does not wait.
    @Suite(.serialized) struct ExclusiveJobTests {
        @Test(.timeLimit(.minutes(3)))
        func aSecondUndeployOfAProjectWaitsForTheFirst() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            // Only a coordinator: no agent serves `proxy`, so the first job's first step waits there.
            let coordinator = try await JobTests.Cluster.startCoordinator(spool)
            _ = coordinator
            func submit(_ project: String) async throws -> String {
                let result = try await spool.dz(["job", "submit", "undeploy", "--project", project])
                guard result.status == 0 else { throw SetupFailure("submit: \(result)") }
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            func show(_ id: String) async throws -> [String: JSONValue]? {
                let result = try await spool.dz(["job", "show", id, "--json"])
                guard result.status == 0 else { return nil }
                return try JSONValue.parse(Array(result.stdout.utf8)).objectValue
            }
            func steps(_ id: String) async throws -> [String] {
                (try await show(id)?["steps"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            }
            func log(_ id: String) async throws -> String {
                try await spool.dz(["job", "log", id]).stdout
            }

            let first = try await submit("shop")
            let firstStarted = await eventually(timeout: 30) {
                (try? await steps(first))?.contains("remove_proxy_conf") == true
            }
            #expect(firstStarted)
            let second = try await submit("shop")
            let other = try await submit("blog")
            let otherStarted = await eventually(timeout: 30) {
                (try? await steps(other))?.contains("remove_proxy_conf") == true
            }
            #expect(otherStarted, "another project's job does not wait")
            let waiting = await eventually(timeout: 30) {
                (try? await log(second))?.contains("waiting for job \(first)") == true
            }
            let waitingLog = try await log(second)
            #expect(waiting, "the second job says what it waits for: \(waitingLog)")
            let waitingSteps = try await steps(second)
            #expect(waitingSteps.isEmpty, "the second job dispatched nothing: \(waitingSteps)")
            #expect(spool.names("proxy", "new").count == 2, "one task of the first job, one of the other project's")

            let cancelled = try await spool.dz(["job", "cancel", first, "--reason", "test"])
            #expect(cancelled.status == 0, "\(cancelled)")
            let secondStarted = await eventually(timeout: 30) {
                (try? await steps(second))?.contains("remove_proxy_conf") == true
            }
            let startedLog = try await log(second)
            #expect(secondStarted, "the second job starts once the first ended: \(startedLog)")
            let firstState = try await show(first)?["state"]
            #expect(firstState == .string("cancelled"))
        }
    }
}
