import DZSystem
@testable import DZWork
import Foundation
import DZTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZSource
#endif

/// A scratch directory with a bare-bones git repository to check out, and helpers to change it.
struct GitScratch {
    let root: String

    init() throws {
        var template = Array("/tmp/dz-checkout-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    @discardableResult
    func git(_ arguments: [String], in directory: String) async throws -> String {
        let outcome = try await Subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t",
                                                "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"]
                                               + arguments, workingDirectory: directory)
        guard outcome.succeeded else { throw CheckoutError.failed("test git \(arguments)", outcome.tail()) }
        return outcome.stdoutText
    }

    /// Makes a repository at `root/name` with one commit per message; returns its path.
    func repository(_ name: String, commits: [String]) async throws -> String {
        let path = root + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try await git(["init", "-q"], in: path)
        for (index, message) in commits.enumerated() {
            try await commit(in: path, file: "file\(index).txt", message: message)
        }
        return path
    }

    func commit(in path: String, file: String, message: String) async throws {
        try message.write(toFile: path + "/" + file, atomically: true, encoding: .utf8)
        try await git(["add", "-A"], in: path)
        try await git(["commit", "-qm", message], in: path)
    }
}

@Suite struct CheckoutTests {
    let checkout = SourceCheckout(timeout: 60)

    @Test func clonesThenFetchesTheSameOriginAndRecordsTheRevision() async throws {
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let origin = try await scratch.repository("origin", commits: ["first"])
        let work = scratch.root + "/work/demo/src"
        let first = try await checkout.checkout(url: try SourceURL("file://" + origin), revision: nil, into: work)
        #expect(first.subject == "first")
        #expect(first.commit.count == 40)
        #expect(FileManager.default.fileExists(atPath: work + "/file0.txt"))
        try await scratch.commit(in: origin, file: "more.txt", message: "second")
        let second = try await checkout.checkout(url: try SourceURL("file://" + origin), revision: nil, into: work)
        #expect(second.subject == "second")
        #expect(FileManager.default.fileExists(atPath: work + "/more.txt"))
        // An older revision by commit id, then a tag.
        let back = try await checkout.checkout(url: try SourceURL("file://" + origin), revision: first.commit, into: work)
        #expect(back.commit == first.commit)
        #expect(!FileManager.default.fileExists(atPath: work + "/more.txt"))
        try await scratch.git(["tag", "v1", first.commit], in: origin)
        let tagged = try await checkout.checkout(url: try SourceURL(origin), revision: "v1", into: work)
        #expect(tagged.commit == first.commit)
    }

    @Test func changedOriginIsClonedAfresh() async throws {
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let one = try await scratch.repository("one", commits: ["from one"])
        let two = try await scratch.repository("two", commits: ["from two"])
        let work = scratch.root + "/work/src"
        _ = try await checkout.checkout(url: try SourceURL(one), revision: nil, into: work)
        try "stray".write(toFile: work + "/untracked.txt", atomically: true, encoding: .utf8)
        let revision = try await checkout.checkout(url: try SourceURL(two), revision: nil, into: work)
        #expect(revision.subject == "from two")
        #expect(!FileManager.default.fileExists(atPath: work + "/untracked.txt"))
        let remote = try await scratch.git(["config", "--get", "remote.origin.url"], in: work)
        #expect(remote.trimmingCharacters(in: .whitespacesAndNewlines) == two)
    }

    @Test func remoteRepositoryCannotPullLocalSubmodules() async throws {
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let secret = try await scratch.repository("secret", commits: ["secret"])
        let app = try await scratch.repository("app", commits: ["app"])
        try await scratch.git(["submodule", "add", "-q", "file://" + secret, "vendor/secret"], in: app)
        try await scratch.git(["commit", "-qm", "add submodule"], in: app)
        try await scratch.git(["config", "daemon.uploadpack", "true"], in: app)
        let port = try FreePort.loopback()
        let daemon = Task {
            try await Subprocess.run(["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", "--port=\(port)",
                                      "--base-path=\(scratch.root)", "--export-all", scratch.root],
                                     timeout: 120, killGrace: 2)
        }
        defer { daemon.cancel() }
        var outcome: Result<SourceCheckout.Revision, CheckoutError>?
        for _ in 0..<100 {
            do {
                outcome = .success(try await checkout.checkout(url: try SourceURL("git://127.0.0.1:\(port)/app"),
                                                               revision: nil, into: scratch.root + "/work/src"))
                break
            } catch {
                if case .failed(let step, _) = error, step.hasPrefix("git submodule") {
                    outcome = .failure(error)
                    break
                }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        guard case .failure = outcome else {
            Issue.record("a remote repository's file:// submodule was checked out: \(String(describing: outcome))")
            return
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.root + "/work/src/vendor/secret/file0.txt"))
    }

    @Test func submodulesAreCheckedOut() async throws {
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let library = try await scratch.repository("library", commits: ["lib"])
        let app = try await scratch.repository("app", commits: ["app"])
        try await scratch.git(["submodule", "add", "-q", "file://" + library, "vendor/lib"], in: app)
        try await scratch.git(["commit", "-qm", "add submodule"], in: app)
        let work = scratch.root + "/work/src"
        _ = try await checkout.checkout(url: try SourceURL("file://" + app), revision: nil, into: work)
        #expect(FileManager.default.fileExists(atPath: work + "/vendor/lib/file0.txt"))
    }

    @Test func failuresAreClearAndLeaveNothingHalfDone() async throws {
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let work = scratch.root + "/work/src"
        await #expect(throws: CheckoutError.self) {
            try await checkout.checkout(url: try SourceURL(scratch.root + "/missing"), revision: nil, into: work)
        }
        #expect(!FileManager.default.fileExists(atPath: work))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.root + "/work").isEmpty)

        // Nothing listens on port 1: connection refused, quickly, no prompt.
        do {
            _ = try await checkout.checkout(url: try SourceURL("git://127.0.0.1:1/nothing.git"), revision: nil, into: work)
            Issue.record("an unreachable host checked out")
        } catch {
            #expect(error.description.contains("git clone git://127.0.0.1:1/nothing.git failed"), "\(error)")
        }

        let origin = try await scratch.repository("origin", commits: ["only"])
        do {
            _ = try await checkout.checkout(url: try SourceURL(origin), revision: "no-such-branch", into: work)
            Issue.record("a missing revision checked out")
        } catch {
            #expect(error == .badRevision("no-such-branch", "no such branch, tag or commit in the repository"))
        }
    }

    @Test func hostileURLsAndRevisionsAreRefused() async throws {
        for url in ["", "-uhack", "ext::sh -c touch% /tmp/pwned", "relative/path", "ftp://host/x", "file:// x",
                    "https://host/a\nb", "fd::17", "https://deploy:token@example.com/x.git"] {
            #expect(throws: CheckoutError.self, "accepted \(url)") { try SourceURL(url) }
        }
        for url in ["file:///srv/repo", "/srv/repo", "git://127.0.0.1:9418/x.git", "https://github.com/a/b.git",
                    "ssh://git@host/x.git", "git@github.com:a/b.git"] {
            #expect(throws: Never.self) { try SourceURL(url) }
        }
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let origin = try await scratch.repository("origin", commits: ["only"])
        for revision in ["--upload-pack=touch /tmp/x", "a b", "", "x:y", "ancestors(tip)", "HEAD@{1}", "a..b"] {
            await #expect(throws: CheckoutError.self, "accepted revision \(revision)") {
                try await checkout.checkout(url: try SourceURL(origin), revision: revision, into: scratch.root + "/w")
            }
        }
    }

    @Test func secretsInURLsAreRefusedAndRedacted() throws {
        do {
            _ = try SourceURL("https://deploy:s3cr3t-token@example.com/acme/shop.git")
            Issue.record("a URL with a token was accepted")
        } catch {
            #expect(!error.description.contains("s3cr3t"), "\(error)")
        }
        #expect(SourceURL.redact("https://deploy:s3cr3t@example.com/x") == "https://deploy:***@example.com/x")
        #expect(try SourceURL("https://example.com/acme/shop.git").repositoryName == "shop")
        #expect(try SourceURL("/srv/x").isLocal && SourceURL("file:///srv/x").isLocal)
        #expect(try !SourceURL("git://host/x").isLocal)
        #expect(try SourceURL("git@github.com:acme/my-site.git").repositoryName == "my-site")
    }

    @Test func mercurialMissingIsAClearError() async throws {
        guard Subprocess.locate("hg") == nil else { return }
        await #expect(throws: CheckoutError.toolMissing("hg")) {
            try await checkout.checkout(url: try SourceURL("/srv/none"), revision: nil, vcs: .hg, into: "/tmp/dz-never")
        }
    }

    @Test func gitDaemonOnLoopbackServesACheckout() async throws {
        let scratch = try GitScratch()
        defer { scratch.remove() }
        let origin = try await scratch.repository("served", commits: ["over git://"])
        try await scratch.git(["config", "daemon.uploadpack", "true"], in: origin)
        let port = try FreePort.loopback()
        // Run by Subprocess, so that cancelling the task kills the daemon's whole process group.
        let daemon = Task {
            try await Subprocess.run(["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", "--port=\(port)",
                                      "--base-path=\(scratch.root)", "--export-all", scratch.root],
                                     timeout: 120, killGrace: 2)
        }
        defer { daemon.cancel() }
        let url = try SourceURL("git://127.0.0.1:\(port)/served")
        var revision: SourceCheckout.Revision?
        // The daemon needs a moment to listen: retry until it answers (bounded).
        for _ in 0..<100 {
            revision = try? await checkout.checkout(url: url, revision: nil, into: scratch.root + "/work/src")
            if revision != nil { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(revision?.subject == "over git://")
    }
}

