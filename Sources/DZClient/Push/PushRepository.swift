import DZSpool
import DZStore
import DZSystem

/// A bare git repository per project, on the build host, whose `post-receive` hook deploys what is pushed to its
/// deploy branch: `git push` is a deploy, as with Piku and Dokku. The hook runs `dz git post-receive`, which submits
/// `build_and_deploy` of the pushed commit from this repository and prints the job's progress, which git relays to
/// the pusher (`remote: ...`), ending with the app's URL or the failure.
///
/// The hook is the only shell dz writes: a fixed script whose three values (the dz binary, the spool, the branch)
/// are checked and single-quoted here, and the project id is a checked id. Nothing of what is pushed becomes shell:
/// the pushed ref names and commit ids are read by `PushedRefs` as data.
public struct PushRepository: Sendable, Equatable {
    public let project: String
    /// `<repositories>/<project>.git`.
    public let path: String
    public let branch: String
    /// Other `build_and_deploy` parameters each push's job gets (`db_engine`, `hostnames`, ...), as `key=value`.
    public let parameters: [String]
    /// The most bytes one push may send (git's `receive.maxInputSize`).
    public let maxPushSize: Int64

    /// The default of `maxPushSize`: 512 MiB.
    public static let defaultMaxPushSize: Int64 = 512 << 20

    /// The repository of `project` under `repositories`; nothing is made yet.
    public init(project: String, repositories: String, branch: String, parameters: [String] = [],
                maxPushSize: Int64 = defaultMaxPushSize) throws(ClientError)
    {
        guard ProjectID.isValid(project) else {
            throw .usage("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        guard Self.isBranchName(branch) else {
            throw .usage("invalid branch \"\(branch)\": letters, digits, '.', '_', '-' and '/', not starting with '-' or '.'")
        }
        guard repositories.hasPrefix("/") else { throw .usage("the repositories' directory must be an absolute path") }
        for parameter in parameters {
            guard let key = Self.parameterKey(parameter) else {
                throw .usage("--param \"\(parameter)\": use key=value, the key of lower-case letters, digits and '_'")
            }
            guard !["source", "rev", "vcs"].contains(key) else {
                throw .usage("--param \(key): a push sets it (the repository and the pushed commit)")
            }
            guard !parameter.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .usage("--param \(key): control characters are not allowed")
            }
        }
        guard maxPushSize > 0 else { throw .usage("the largest push must be at least 1 byte") }
        self.maxPushSize = maxPushSize
        self.parameters = parameters
        self.project = project
        self.branch = branch
        path = (repositories.hasSuffix("/") ? String(repositories.dropLast()) : repositories) + "/" + project + ".git"
    }

    /// The default directory of the repositories: `<state>/repos`, where `<state>` is the zoomdb's (see
    /// `ZoomDBLocation.stateDirectory`).
    public static func defaultRepositories(environment: [String: String], isRoot: Bool = Host.isRoot) -> String? {
        ZoomDBLocation.stateDirectory(environment: environment, isRoot: isRoot).map { $0 + "/repos" }
    }

    /// Makes the bare repository if it is not there (its HEAD on `branch`), and writes its hook, replacing an
    /// older one: running it again only renews the hook. `dz` and `spool` are absolute paths baked into the hook.
    /// Returns whether the repository was new.
    @discardableResult
    public func create(dz: String, spool: String) async throws(ClientError) -> Bool {
        for (what, value) in [("the dz binary", dz), ("the spool", spool)] {
            guard value.hasPrefix("/"), !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .usage("\(what) must be an absolute path without control characters: \(value)")
            }
        }
        let made = !FileSystem.exists(path + "/HEAD")
        if made {
            let parent = String(path[..<path.lastIndex(of: "/")!])
            do { try FileSystem.makeDirectories(parent, mode: 0o755) } catch {
                throw .unavailable("cannot make \(parent): \(error)")
            }
            try await git(["init", "--quiet", "--bare", "--initial-branch=" + branch, path])
        }
        // What a pusher sends is checked as it arrives: malformed objects and a push larger than the limit are
        // refused by git before anything is stored.
        for (key, value) in [("receive.fsckObjects", "true"), ("receive.maxInputSize", String(maxPushSize))] {
            try await git(["--git-dir", path, "config", key, value])
        }
        let hook = path + "/hooks/post-receive"
        do {
            try? FileSystem.makeDirectory(path + "/hooks", mode: 0o755)
            try FileIO.replace(hook, bytes: Array(hookScript(dz: dz, spool: spool).utf8), mode: 0o755, sync: true)
        } catch {
            throw .unavailable("cannot write \(hook): \(error)")
        }
        return made
    }

    /// Runs git with `arguments`, with no system or user configuration.
    private func git(_ arguments: [String]) async throws(ClientError) {
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(
                ["git"] + arguments,
                environment: ["PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"], timeout: 60)
        } catch {
            throw .unavailable("cannot run git: \(error)")
        }
        guard outcome.succeeded else { throw .unavailable("git \(arguments.joined(separator: " ")): \(outcome.tail(5))") }
    }

    /// The hook: `dz git post-receive` for this project and branch, with git's ref updates on its standard input.
    public func hookScript(dz: String, spool: String) -> String {
        """
        #!/bin/sh
        # Made by `dz git init`: deploys what is pushed to \(branch) (see dz(1), git init). Run `dz git init` again
        # to renew it; edits here are lost then.
        exec \(Self.quoted(dz)) git post-receive --spool \(Self.quoted(spool)) --project \(project) --branch \(Self.quoted(branch))\(parameters.map { " --param " + Self.quoted($0) }.joined())

        """
    }

    /// The key of a `key=value` parameter, if it is one: `[a-z][a-z0-9_]*`, at most 64 bytes.
    public static func parameterKey(_ parameter: String) -> String? {
        guard let equals = parameter.firstIndex(of: "=") else { return nil }
        let key = parameter[..<equals]
        guard let first = key.utf8.first, first >= 0x61 && first <= 0x7A, key.utf8.count <= 64,
              key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F })
        else { return nil }
        return String(key)
    }

    /// `value` as one word of `sh`: in single quotes, each `'` written as `'\''`.
    static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// A branch name dz deploys from: what git allows, narrowed to letters, digits, `.`, `_`, `-` and `/`, at most
    /// 200 bytes, no `..`, no part starting with `.` or `-`, not ending in `.lock` or `/`.
    public static func isBranchName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200, !name.contains(".."), !name.hasSuffix(".lock"),
              !name.hasSuffix("/"), !name.hasPrefix("/"), !name.contains("//")
        else { return false }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D || byte == 0x2F
        }
        return allowed && name.split(separator: "/").allSatisfy { !$0.hasPrefix(".") && !$0.hasPrefix("-") }
    }
}
