import DZSpool
import DZStore
import Foundation
import Testing

extension Integration {
    /// `dz config set` takes secrets from standard input or a file, never from its command line. The values go
    /// to the coordinator in a request through the spool; the tests read them back from its zoomdb
    /// (`config show --reveal` on its host).
    @Suite(.serialized) struct ConfigSecretTests {
        /// A coordinator for `spool`, which records what the requests carry.
        func coordinator(_ spool: TestSpool) throws -> DZProcess {
            try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync"], label: "coordinator")
        }

        func show(_ spool: TestSpool) async throws -> String {
            let result = try await spool.dz(["config", "show", "--project", "shop", "--reveal"])
            return result.stdout
        }

        @Test(.timeLimit(.minutes(1)))
        func valuesComeFromStandardInputAndFilesWithoutTheirLastNewline() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let coordinator = try coordinator(spool)
            defer { coordinator.kill() }
            let file = spool.directory + "/db-password"
            try spool.write(Array("pa:ss word\n".utf8), to: file)
            let set = try await spool.dz(["config", "set", "--project", "shop", "DEBUG=1", "API_TOKEN",
                                          "--from-file", "DB_PASSWORD=" + file, "--no-restart"],
                                         stdin: Array("t0k3n=x\n".utf8))
            #expect(set.status == 0, "\(set)")
            #expect(set.stderr.isEmpty, "no warning: \(set.stderr)")
            let shown = try await show(spool)
            #expect(shown.contains("API_TOKEN=t0k3n=x\n"), "\(shown)")
            #expect(shown.contains("DB_PASSWORD=pa:ss word\n"), "\(shown)")
            #expect(shown.contains("DEBUG=1\n"), "\(shown)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aSecretLookingValueOnTheCommandLineIsTakenWithAWarning() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let coordinator = try coordinator(spool)
            defer { coordinator.kill() }
            let set = try await spool.dz(["config", "set", "--project", "shop", "SECRET_KEY=abc", "--no-restart"])
            #expect(set.status == 0, "\(set)")
            #expect(set.stderr.contains("warning: the value of SECRET_KEY was on the command line"), "\(set.stderr)")
            #expect(set.stderr.contains("dz config set --project shop SECRET_KEY"), "\(set.stderr)")
            #expect(try await show(spool).contains("SECRET_KEY=abc"), "stored")
        }

        @Test(.timeLimit(.minutes(1)))
        func badSourcesAreRefusedBeforeAnythingIsStored() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let coordinator = try coordinator(spool)
            defer { coordinator.kill() }
            let twoLines = spool.directory + "/two-lines"
            try spool.write(Array("one\ntwo\n".utf8), to: twoLines)
            for (words, status, message) in [
                (["A_TOKEN", "B_TOKEN"], Int32(64), "only one NAME without =VALUE"),
                (["--from-file", "A_TOKEN"], 64, "use NAME=FILE"),
                (["LD_PRELOAD"], 64, "not allowed"),
                (["A_TOKEN", "--from-file", "A_TOKEN=" + twoLines], 64, "given twice"),
                (["DEBUG=1", "DEBUG=2"], 64, "given twice"),
                (["--from-file", "A_TOKEN=" + twoLines], 65, "contains a newline"),
                (["--from-file", "A_TOKEN=" + spool.directory + "/missing"], 65, "cannot open"),
            ] {
                let result = try await spool.dz(["config", "set", "--project", "shop", "--no-restart"] + words,
                                                stdin: Array("x\n".utf8))
                #expect(result.status == status, "\(words): \(result)")
                #expect(result.stderr.contains(message), "\(words): \(result.stderr)")
            }
            let shown = try await spool.dz(["config", "show", "--project", "shop"])
            #expect(!shown.stdout.contains("TOKEN"), "nothing stored: \(shown)")
        }

        /// While `dz config set` waits for its config job (no coordinator here: it waits until killed), the
        /// value is in its request in the spool (the group's only) and nowhere in the process's command line or
        /// environment, which other local users and apps can read in /proc and ps.
        @Test(.timeLimit(.minutes(1)))
        func aWaitingConfigSetShowsNoSecretInItsCommandLine() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let secret = "s3cr3t-\(UUID().uuidString)"
            let process = try spool.start(["config", "set", "--project", "shop", "API_TOKEN"],
                                          stdin: Array(secret.utf8))
            let requests = spool.root + "/jobs/new"
            let stored = try await eventually(timeout: 30) {
                ((try? FileManager.default.contentsOfDirectory(atPath: requests)) ?? []).contains { name in
                    let bytes = FileManager.default.contents(atPath: requests + "/" + name) ?? Data()
                    return String(decoding: bytes, as: UTF8.self).contains(secret)
                }
            }
            #expect(stored, "the value reached its request")
            #expect(process.isRunning, "still waiting for its job: \(process.errorTail)")
            for file in ["cmdline", "environ"] {
                let bytes = FileManager.default.contents(atPath: "/proc/\(process.pid)/\(file)") ?? Data()
                #expect(!bytes.isEmpty, "read /proc/\(process.pid)/\(file)")
                #expect(!String(decoding: bytes, as: UTF8.self).contains(secret), "the secret is in its \(file)")
            }
            process.kill()
        }
    }
}
