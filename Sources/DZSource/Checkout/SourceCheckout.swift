import DZSystem
import Foundation

/// Checks out a project's repository into a working copy that is reused between runs: fetched when the origin is
/// the same, wiped and cloned afresh when it changed. Never prompts (no terminal, no askpass), every command has a
/// time limit, and a failed clone leaves nothing half-done (it is made beside the working copy and renamed in).
public struct SourceCheckout: Sendable {
    public enum VCS: String, Sendable, CaseIterable {
        case git, hg
    }

    /// The revision checked out.
    public struct Revision: Sendable, Equatable {
        public var vcs: VCS
        public var commit: String
        public var subject: String
    }

    public let timeout: Double
    /// The most a revision's files may hold (`maxBundleSize` bytes, `maxFiles` names): a git revision past it is
    /// refused before its files are written (from `git ls-tree`), so that a small compressed history of a huge
    /// tree never fills the disk; a Mercurial working copy is measured after its update.
    public var limits: BuildLimits?

    public init(timeout: Double = 600, limits: BuildLimits? = nil) {
        self.timeout = timeout
        self.limits = limits
    }

    /// Checks `url` out into `directory` at `revision` (a branch, tag or commit; default: the remote's HEAD).
    public func checkout(url: SourceURL, revision: String?, vcs: VCS = .git, into directory: String)
        async throws(CheckoutError) -> Revision
    {
        if let revision {
            // Branch, tag and commit names only: no options, no git revision syntax, no Mercurial revsets.
            guard !revision.isEmpty, !revision.hasPrefix("-"), !revision.hasPrefix("."), revision.utf8.count <= 255,
                  !revision.contains(".."),
                  revision.utf8.allSatisfy({ byte in
                      (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                          || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "/"),
                              UInt8(ascii: "+")].contains(byte)
                  })
            else { throw .badRevision(revision, "not a branch, tag or commit name") }
        }
        switch vcs {
        case .git: return try await checkoutGit(url: url, revision: revision, into: directory)
        case .hg: return try await checkoutMercurial(url: url, revision: revision, into: directory)
        }
    }

    // MARK: git

    /// git's environment: no prompt of any kind, no user or system config that could run commands, only the
    /// allowed transports (submodules included).
    var gitEnvironment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        return [
            "PATH": inherited["PATH"] ?? "/usr/bin:/bin",
            "HOME": inherited["HOME"] ?? "/nonexistent",
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            // A credential prompt fails at once instead of being answered.
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=20",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
            // A repository on disk owned by another user is still ours to read.
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "safe.directory",
            "GIT_CONFIG_VALUE_0": "*",
        ]
    }

    func git(_ arguments: [String], in directory: String? = nil, step: String,
             environment: [String: String]? = nil) async throws(CheckoutError) -> Subprocess.Outcome
    {
        try await run(["git"] + arguments, environment: environment ?? gitEnvironment, in: directory, step: step)
    }

    /// Runs a VCS command with the time limit; its failure output, URLs redacted, becomes the error.
    private func run(_ command: [String], environment: [String: String], in directory: String?, step: String)
        async throws(CheckoutError) -> Subprocess.Outcome
    {
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(command, environment: environment, workingDirectory: directory,
                                               timeout: timeout)
        } catch Subprocess.Failure.notFound {
            throw .toolMissing(command[0])
        } catch {
            throw .failed(step, "\(error)")
        }
        switch outcome.ending {
        case .exited(0): return outcome
        case .timedOut: throw .timedOut(step, timeout)
        default: throw .failed(step, SourceURL.redact(outcome.tail(8)))
        }
    }

    private func checkoutGit(url: SourceURL, revision: String?, into directory: String) async throws(CheckoutError)
        -> Revision
    {
        let origin = (try? await git(["config", "--get", "remote.origin.url"], in: directory, step: "git config"))?
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if origin == url.text {
            _ = try await git(["fetch", "--quiet", "--prune", "--tags", "--force", "origin"], in: directory,
                              step: "git fetch \(url.redacted)")
        } else {
            try await freshClone(directory) { temporary throws(CheckoutError) in
                _ = try await git(["clone", "--quiet", "--no-checkout", "--", url.text, temporary],
                                  step: "git clone \(url.redacted)")
            }
        }
        let target = try await resolveGit(revision, in: directory)
        if let limits { try await checkGitSize(of: target, in: directory, limits: limits) }
        _ = try await git(["checkout", "--quiet", "--force", "--detach", target], in: directory, step: "git checkout")
        _ = try await git(["clean", "-ffdqx"], in: directory, step: "git clean")
        // A remote repository's submodules may not point at the build host's own files.
        var submoduleEnvironment = gitEnvironment
        if !url.isLocal { submoduleEnvironment["GIT_ALLOW_PROTOCOL"] = "git:http:https:ssh" }
        _ = try await git(["submodule", "update", "--init", "--recursive", "--force", "--quiet"], in: directory,
                          step: "git submodule update", environment: submoduleEnvironment)
        let log = try await git(["log", "-1", "--format=%H%n%s"], in: directory, step: "git log")
        let lines = log.stdoutText.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return Revision(vcs: .git, commit: lines.first.map(String.init) ?? "",
                        subject: lines.count > 1 ? String(lines[1]).trimmingCharacters(in: .whitespacesAndNewlines) : "")
    }

    /// Refuses a commit whose files hold more than `limits` allow, from the sizes git records for them (the
    /// objects are in the repository already; nothing is written).
    private func checkGitSize(of commit: String, in directory: String, limits: BuildLimits) async throws(CheckoutError) {
        let listing = try await git(["ls-tree", "-r", "--full-tree", "--format=%(objectsize)", commit], in: directory,
                                    step: "git ls-tree")
        var bytes: Int64 = 0
        var files = 0
        for line in listing.stdout.split(separator: UInt8(ascii: "\n")) {
            files += 1
            // Submodules' commits have no size ("-"); their files are measured with the build's code.
            if let size = Int64(String(decoding: line, as: UTF8.self)) {
                bytes = bytes.addingReportingOverflow(size).overflow ? .max : bytes + size
            }
        }
        if listing.dropped > 0 || bytes > limits.maxBundleSize || files > limits.maxFiles {
            // A listing past Subprocess's output limit has hundreds of thousands of names.
            throw .tooLarge(bytes: bytes, files: listing.dropped > 0 ? max(files, limits.maxFiles + 1) : files,
                            limits: limits)
        }
    }

    /// The commit for `revision`: a remote branch first (what was just fetched), else a tag or commit id.
    private func resolveGit(_ revision: String?, in directory: String) async throws(CheckoutError) -> String {
        let candidates = revision.map { ["refs/remotes/origin/\($0)", "refs/tags/\($0)", $0] } ?? ["refs/remotes/origin/HEAD"]
        for candidate in candidates {
            if let found = try? await git(["rev-parse", "--verify", "--quiet", "--end-of-options", candidate + "^{commit}"],
                                          in: directory, step: "git rev-parse") {
                let commit = found.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                if !commit.isEmpty { return commit }
            }
        }
        if revision == nil {
            // A remote without HEAD (an empty or unusual repository): take its only branch if it has one.
            let branches = try await git(["for-each-ref", "--format=%(objectname)", "refs/remotes/origin/"],
                                         in: directory, step: "git for-each-ref")
            if let first = branches.stdoutText.split(separator: "\n").first { return String(first) }
            throw .badRevision("HEAD", "the repository has no commits")
        }
        throw .badRevision(revision!, "no such branch, tag or commit in the repository")
    }

    // MARK: Mercurial

    private func hg(_ arguments: [String], in directory: String? = nil, step: String) async throws(CheckoutError)
        -> Subprocess.Outcome
    {
        var environment = gitEnvironment
        environment["HGPLAIN"] = "1"
        environment["HGRCPATH"] = ""
        return try await run(["hg", "--noninteractive"] + arguments, environment: environment, in: directory, step: step)
    }

    private func checkoutMercurial(url: SourceURL, revision: String?, into directory: String)
        async throws(CheckoutError) -> Revision
    {
        guard Subprocess.locate("hg") != nil else { throw .toolMissing("hg") }
        let origin = (try? await hg(["paths", "default"], in: directory, step: "hg paths"))?
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if origin == url.text {
            _ = try await hg(["pull", "--quiet"], in: directory, step: "hg pull \(url.redacted)")
        } else {
            try await freshClone(directory) { temporary throws(CheckoutError) in
                _ = try await hg(["clone", "--quiet", "--noupdate", "--", url.text, temporary],
                                 step: "hg clone \(url.redacted)")
            }
        }
        _ = try await hg(["update", "--quiet", "--clean", "--rev", revision ?? "default"], in: directory,
                         step: "hg update")
        _ = try? await hg(["purge", "--all", "--config", "extensions.purge="], in: directory, step: "hg purge")
        if let limits {
            let size = TreeSize.measure([directory], stopAfter: limits.maxBundleSize, entries: limits.maxFiles)
            if size.exceeds(maxBytes: limits.maxBundleSize, maxEntries: limits.maxFiles) {
                throw .tooLarge(bytes: size.bytes, files: size.entries, limits: limits)
            }
        }
        let log = try await hg(["log", "--rev", ".", "--template", "{node}\\n{desc|firstline}"], in: directory,
                               step: "hg log")
        let lines = log.stdoutText.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return Revision(vcs: .hg, commit: lines.first.map(String.init) ?? "",
                        subject: lines.count > 1 ? String(lines[1]) : "")
    }

    // MARK: Working copies

    /// Clones into a fresh directory beside `directory`, then replaces `directory` with it: a failed clone
    /// leaves the old working copy (or nothing) in place.
    private func freshClone(_ directory: String, clone: (String) async throws(CheckoutError) -> Void)
        async throws(CheckoutError)
    {
        let parent = (directory as NSString).deletingLastPathComponent
        do { try FileSystem.makeDirectories(parent) } catch { throw .filesystem("cannot create \(parent): \(error)") }
        let temporary = directory + ".clone-\(Host.pid)-\(Int(Timestamp.now().seconds))"
        removeTree(temporary)
        do {
            try await clone(temporary)
        } catch {
            removeTree(temporary)
            throw error
        }
        let old = directory + ".old-\(Host.pid)"
        if FileSystem.exists(directory) {
            do { try FileSystem.rename(directory, old) } catch { throw .filesystem("cannot move \(directory) aside: \(error)") }
        }
        do { try FileSystem.rename(temporary, directory) } catch {
            throw .filesystem("cannot move the clone into \(directory): \(error)")
        }
        removeTree(old)
    }

    private func removeTree(_ path: String) {
        if FileSystem.exists(path) { try? FileManager.default.removeItem(atPath: path) }
    }
}
