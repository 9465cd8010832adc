import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// A spool shared by agents of different users, as `scripts/deploy` and the systemd units run them: the
    /// coordinator and the build host as an unprivileged service user, the appserver and proxy as root, the
    /// operator's commands as root; and nobody outside the spool's group (an app's user, a local user) can enter.
    @Suite(.serialized) struct SharedSpoolTests {
        /// Unix users made for one test (`useradd --system`), removed at the end: the service user in its own
        /// group, and a tenant in no group of dz's.
        final class Users {
            let service: String
            let tenant: String

            init() async throws {
                let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
                service = "dzsvc" + suffix
                tenant = "dzten" + suffix
                for name in [service, tenant] {
                    let made = try await Subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                                                         "--shell", "/usr/sbin/nologin", name], timeout: 60)
                    guard made.succeeded else { throw SetupFailure("useradd \(name): \(made.tail(5))") }
                }
            }

            func remove() {
                for name in [service, tenant] {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/sbin/userdel")
                    process.arguments = [name]
                    try? process.run()
                    process.waitUntilExit()
                }
            }
        }

        /// `setpriv` into `user` with its groups, then `command`.
        static func asUser(_ user: String, _ command: [String]) -> [String] {
            ["--reuid=" + user, "--regid=" + user, "--init-groups", "--"] + command
        }

        @Test(.timeLimit(.minutes(4)))
        func agentsOfDifferentUsersShareASpoolThatTenantsCannotEnter() async throws {
            let spool = try TestSpool(initialize: false)
            let users = try await Users()
            var processes: [DZProcess] = []
            defer {
                for process in processes { process.kill() }
                spool.cleanUp()
                users.remove()
            }
            // The scratch directory is root's 0700: others may pass through it to the spool (which is 2770) and
            // to a copy of dz (the build tree may be under a directory only root can enter).
            chmod(spool.directory, 0o711)
            let dz = spool.directory + "/dz"
            try FileManager.default.copyItem(atPath: try DZBinary.path(), toPath: dz)
            chmod(dz, 0o755)

            let initialized = try await spool.dz(["init", "--group", users.service])
            #expect(initialized.status == 0, "\(initialized)")
            for path in [spool.root, spool.root + "/build/new", spool.root + "/log"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o7777 } == 0o2770, "\(path)")
                #expect(attributes[.groupOwnerAccountName] as? String == users.service, "\(path)")
            }

            func start(_ label: String, as user: String?, _ args: [String]) throws -> DZProcess {
                let command = [dz] + args + ["--spool", spool.root]
                let process = try DZProcess(label: label, arguments: user.map { Self.asUser($0, command) }
                                                ?? Array(command.dropFirst()),
                                            logDirectory: spool.logDirectory,
                                            executable: user == nil ? dz : "/usr/bin/setpriv")
                processes.append(process)
                return process
            }
            func started(_ process: DZProcess, _ event: String) async throws {
                let up = await waitUntil(timeout: 60) {
                    !process.isRunning || !spool.records(event: event).filter { $0["pid"] == String(process.pid) }.isEmpty
                }
                guard up, process.isRunning else { throw SetupFailure("\(process.label) did not start: \(process.errorTail)") }
            }

            // The coordinator's zoomdb is its own, on this host's disk, in a directory of the service user's.
            let state = spool.directory + "/coordinator-state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700,
                                                                 .ownerAccountName: users.service])
            let coordinator = try start("coordinator", as: users.service,
                                        ["coordinator", "--rescan", "200ms", "--db", state + "/zoomdb.sqlite3"])
            try await started(coordinator, "coordinator-started")
            let builder = try start("builder", as: users.service,
                                    ["agent", "-Q", "build,database", "--host-id", "builder", "--lease", "1s",
                                     "--rescan", "500ms"])
            try await started(builder, "agent-started")
            let app1 = try start("app1", as: nil, ["agent", "-Q", "appserver_app1,proxy", "--host-id", "app1",
                                                   "--lease", "1s", "--rescan", "500ms"])
            try await started(app1, "agent-started")

            // A whole job through the three users' processes, with a retry: the results root's agent writes are
            // read and retired by the coordinator, the tasks it drops are claimed by root and by the builder.
            let job = try await spool.dz(["job", "submit", "selftest", "--project", "demo", "--param", "appservers=app1",
                                          "--param", "fail=upload", "--param", "max_attempts=2", "--wait"],
                                         timeout: 180)
            #expect(job.status == 1, "upload fails twice, then the job: \(job)")
            let second = try await spool.dz(["job", "submit", "selftest", "--project", "demo", "--param",
                                             "appservers=app1", "--wait"], timeout: 180)
            #expect(second.status == 0, "\(second)\n\(coordinator.errorTail)\n\(builder.errorTail)")

            // A task the operator drops as root (umask 022), claimed by the unprivileged builder, whose lease it
            // renews (touches) while it sleeps past the 1 s lease: the root-owned file is group-writable.
            umask(0o022)
            let id = try await spool.send("sleep", "--queue", "build", "--arg", "seconds=3", "--reply-to", "replies")
            let settled = await waitUntil(timeout: 60) {
                (try? spool.result(id, queue: "replies")) != nil && !spool.records(event: "finished", task: id).isEmpty
            }
            #expect(settled, "the builder finished \(id): \(builder.errorTail)")
            #expect(try spool.result(id, queue: "replies")?.status == .ok)
            #expect(spool.records(event: "claimed", task: id).count == 1, "claimed once: its lease never lapsed")
            #expect(spool.records(event: "lease-lost", task: id).isEmpty)
            let done = try #require(spool.findInDays("build", "done", id + ".json"))
            let attributes = try FileManager.default.attributesOfItem(atPath: done)
            #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o660)
            #expect(attributes[.groupOwnerAccountName] as? String == users.service)
            #expect(attributes[.ownerAccountName] as? String == "root", "the operator's file")

            // A deferred task the operator drops as root: the builder cannot set the time of root's file, so it
            // writes it anew as its own with its not_before as mtime; it is deferred once and run once, not
            // claimed and put back in a loop until it is due.
            let later = try await spool.send("noop", "--queue", "build", "--delay", "3s", "--reply-to", "replies")
            let ran = await waitUntil(timeout: 60) {
                (try? spool.result(later, queue: "replies")) != nil && !spool.records(event: "finished", task: later).isEmpty
            }
            #expect(ran, "the builder ran \(later) when it was due: \(builder.errorTail)")
            #expect(spool.records(event: "deferred", task: later).count == 1,
                    "deferred once: \(spool.records(event: "deferred", task: later).count)")
            #expect(spool.records(event: "claimed", task: later).count == 1)

            // The tenant can neither enter the spool, read a task, nor drop one.
            for (what, script) in [("list", "ls \(spool.root)/build/new"), ("read", "cat \(done)"),
                                   ("write", "echo '{\"task\":\"noop\"}' > \(spool.root)/build/new/evil.json")] {
                let tried = try await spool.tool("/usr/bin/setpriv", Self.asUser(users.tenant, ["/bin/sh", "-c", script]))
                #expect(tried.status != 0, "the tenant could \(what): \(tried)")
                #expect(tried.stderr.contains("Permission denied"), "\(what): \(tried.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: spool.root + "/build/new/evil.json"))

            // `dz init` again, by a member of the group, leaves root's directories as they are and succeeds.
            let again = try start("init-again", as: users.service, ["init"])
            #expect(await again.waitForExit(timeout: 60))
            #expect(again.exitStatus == 0, "\(again.errorTail)")

            // An agent run by a user outside the group says why it cannot serve the spool.
            let refused = try start("tenant-agent", as: users.tenant, ["agent", "-Q", "build", "--host-id", "evil"])
            #expect(await refused.waitForExit(timeout: 60))
            #expect(refused.exitStatus == 69, "\(refused.ending)")
            #expect(refused.standardError.contains("dz init --group dz"), "\(refused.standardError)")
        }
    }
}
