@testable import DZClient
import DZSystem
import Foundation
import Testing

/// The repository a push deploys from, its hook (the one shell script dz writes), and the pushed refs read as data.
@Suite struct PushRepositoryTests {
    @Test func theHookQuotesEveryValueAndRunsOnlyDz() throws {
        let repository = try PushRepository(project: "shop", repositories: "/srv/repos", branch: "main",
                                            parameters: ["hostnames=a.example.com,b.example.com", "note=it's $(id)"])
        #expect(repository.path == "/srv/repos/shop.git")
        let script = repository.hookScript(dz: "/opt/it's dz/bin/dz", spool: "/srv/dz spool")
        let lines = script.split(separator: "\n")
        #expect(lines.first == "#!/bin/sh")
        let exec = try #require(lines.last)
        #expect(exec == #"exec '/opt/it'\''s dz/bin/dz' git post-receive --spool '/srv/dz spool' --project shop --branch 'main' --param 'hostnames=a.example.com,b.example.com' --param 'note=it'\''s $(id)'"#)
    }

    @Test func theHookHandsItsValuesToDzAsTheyWereGiven() async throws {
        // sh itself reads the hook: each value arrives as one argument, nothing in it runs.
        let directory = NSTemporaryDirectory() + "dz-push-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let printer = directory + "/print args"
        try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n".write(toFile: printer, atomically: true, encoding: .utf8)
        chmod(printer, 0o755)
        let repository = try PushRepository(project: "shop", repositories: directory, branch: "release/v1",
                                            parameters: ["note=it's $(touch \(directory)/pwned); `id`"])
        try await repository.create(dz: printer, spool: directory + "/sp'ool")
        let outcome = try await Subprocess.run([repository.path + "/hooks/post-receive"], timeout: 30)
        #expect(outcome.succeeded, "\(outcome.tail())")
        #expect(outcome.stdoutText.split(separator: "\n").map(String.init) == [
            "git", "post-receive", "--spool", directory + "/sp'ool", "--project", "shop", "--branch", "release/v1",
            "--param", "note=it's $(touch \(directory)/pwned); `id`",
        ])
        #expect(!FileManager.default.fileExists(atPath: directory + "/pwned"))
    }

    @Test func createMakesABareRepositoryOnceAndRenewsItsHook() async throws {
        let directory = NSTemporaryDirectory() + "dz-push-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let repository = try PushRepository(project: "shop", repositories: directory, branch: "main")
        #expect(try await repository.create(dz: "/usr/local/bin/dz", spool: "/srv/dz/spool"))
        #expect(FileManager.default.fileExists(atPath: repository.path + "/HEAD"))
        let head = try String(contentsOfFile: repository.path + "/HEAD", encoding: .utf8)
        #expect(head == "ref: refs/heads/main\n")
        let renewed = try PushRepository(project: "shop", repositories: directory, branch: "main",
                                         parameters: ["db_engine=sqlite"])
        #expect(try await renewed.create(dz: "/usr/local/bin/dz", spool: "/srv/dz/spool") == false)
        let hook = try String(contentsOfFile: repository.path + "/hooks/post-receive", encoding: .utf8)
        #expect(hook.contains("--param 'db_engine=sqlite'"))
        #expect(try FileSystem.status(repository.path + "/hooks/post-receive").permissions & 0o777 == 0o755)
    }

    @Test func hostileNamesAndParametersAreRefused() {
        for project in ["../etc", "Shop", "", "a b", String(repeating: "a", count: 31)] {
            #expect(throws: ClientError.self) { try PushRepository(project: project, repositories: "/r", branch: "main") }
        }
        for branch in ["-f", ".hidden", "a..b", "x.lock", "a/", "/a", "a//b", "a b", "a\nb", "main;id", "a/.b", "a/-b", ""] {
            #expect(!PushRepository.isBranchName(branch), "\(branch)")
        }
        for branch in ["main", "release/v1.2", "feature_x-y"] { #expect(PushRepository.isBranchName(branch)) }
        #expect(throws: ClientError.self) { try PushRepository(project: "shop", repositories: "relative", branch: "main") }
        for parameter in ["novalue", "=x", "Key=x", "rev=abc", "source=/etc", "vcs=hg", "a=b\nc"] {
            #expect(throws: ClientError.self, "\(parameter)") {
                try PushRepository(project: "shop", repositories: "/r", branch: "main", parameters: [parameter])
            }
        }
    }

    @Test func pushedRefsAreReadAsDataAndTheBranchPicked() throws {
        let zero = String(repeating: "0", count: 40)
        let a = String(repeating: "a", count: 40), b = String(repeating: "b", count: 40)
        let refs = try PushedRefs.parse("\(zero) \(a) refs/heads/topic\n\(a) \(b) refs/heads/main\n\(b) \(zero) refs/tags/v1\n")
        #expect(refs.updates.count == 3)
        #expect(refs.update(ofBranch: "main") == .init(old: a, new: b, ref: "refs/heads/main"))
        #expect(refs.update(ofBranch: "main")?.isDeletion == false)
        #expect(refs.update(ofBranch: "release") == nil)
        let deleted = try PushedRefs.parse("\(a) \(zero) refs/heads/main\n")
        #expect(deleted.update(ofBranch: "main")?.isDeletion == true)
        let sha256 = String(repeating: "c", count: 64)
        #expect(try PushedRefs.parse("\(String(repeating: "0", count: 64)) \(sha256) refs/heads/main").updates.count == 1)
        #expect(try PushedRefs.parse("").updates.isEmpty)
        for bad in ["\(a) \(b)", "\(a) \(b) main", "\(a) \(sha256) refs/heads/main", "$(id) \(b) refs/heads/main",
                    "\(a.uppercased()) \(b) refs/heads/main", "\(a) \(b) refs/heads/ma\u{1}in", "\(a)  \(b) refs/heads/main"]
        {
            #expect(throws: ClientError.self, "\(bad)") { try PushedRefs.parse(bad) }
        }
    }

    @Test func aConfinedKeyRunsOnlyPushOrFetchOfItsOwnRepository() throws {
        for allowed in ["git-receive-pack 'shop.git'", "git-receive-pack '/shop.git'", "git-receive-pack shop",
                        "git receive-pack '~/shop.git'", "git-upload-pack 'shop.git/'", #"git-upload-pack "shop.git""#] {
            #expect(throws: Never.self, "\(allowed)") { try PushShell.service(for: allowed, project: "shop") }
        }
        #expect(try PushShell.service(for: "git receive-pack 'shop.git'", project: "shop") == "git-receive-pack")
        #expect(try PushShell.service(for: "git-upload-pack 'shop.git'", project: "shop") == "git-upload-pack")
        for refused in [nil, "", "id", "sh -c id", "git-receive-pack 'other.git'", "git-receive-pack '../shop.git'",
                        "git-receive-pack 'repos/shop.git'", "git-receive-pack 'shop.git'; id", "git-upload-archive 'shop.git'",
                        "git-receive-pack --help", "git-receive-pack 'shop.git' extra", "git-receive-pack 'shop.git",
                        "scp -t shop.git", "rsync --server . shop.git"] {
            #expect(throws: ClientError.self, "\(refused ?? "nil")") { try PushShell.service(for: refused, project: "shop") }
        }
    }
}
