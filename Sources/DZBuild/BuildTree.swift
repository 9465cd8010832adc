import DZBundle
import DZSource
import DZSpool
import DZSystem
import Foundation

/// Where one build happens: its tree `<data>/builds/<bundle>/` (what the bundle archives), its temporary directory
/// `<data>/builds/<bundle>.tmp/` (the sandbox's `/tmp` and `HOME`, removed after the build), the project's caches,
/// the sandbox its steps run in and the caps they run under.
///
/// Both directories are made by the agent (mode 0700), filled with the code and dz's own files before any of the
/// project's code runs, then given to the build user (a root agent's builds). From then on the agent only reads
/// them, once every sandbox of the build has ended, and removes them.
struct BuildTree: Sendable {
    let name: String
    let directory: String
    let temporary: String
    let cache: ProjectCache
    let sandbox: BuildSandbox
    let limits: BuildLimits

    init(workspace: Workspace, project: ProjectID, name: String, sandbox: BuildSandbox, limits: BuildLimits) {
        self.name = name
        directory = workspace.root + "/builds/" + name
        temporary = directory + ".tmp"
        cache = ProjectCache(workspace: workspace, project: project)
        self.sandbox = sandbox
        self.limits = limits
    }

    /// The code, as the sandbox sees it.
    static let sourcePath = BuildSandbox.buildPath + "/src"

    /// The build tree, writable, at `/dz/build`.
    var mount: BuildSandbox.Mount { .init(directory, at: BuildSandbox.buildPath, writable: true) }

    /// The bound on the build tree and its temporary directory while the project's code runs.
    var watch: BuildSandbox.SizeWatch {
        .init(paths: [directory, temporary], maxBytes: limits.maxBundleSize, maxEntries: limits.maxFiles,
              what: "the build", option: "dz agent --max-bundle-size")
    }

    /// The bound on collectstatic's output while it runs.
    var staticWatch: BuildSandbox.SizeWatch {
        .init(paths: [directory + "/static"], maxBytes: limits.maxStaticSize, maxEntries: limits.maxFiles,
              what: "the static files", option: "dz agent --max-static-size")
    }

    /// Creates both directories, empty; an earlier build's leftovers of the same name are removed.
    func create() throws(BuildError) {
        SourceTree.remove(temporary)
        SourceTree.remove(directory)
        do {
            try Workspace.makePrivateDirectory(directory)
            try Workspace.makePrivateDirectory(temporary)
        } catch {
            throw BuildError("filesystem", "cannot create \(directory): \(error)")
        }
    }

    /// Removes both directories, on a thread of their own (a large tree takes a while to delete): after a failure,
    /// a failed build leaves nothing behind.
    func remove() async {
        _ = try? await BlockingCall.run { [temporary, directory] in
            SourceTree.remove(temporary)
            SourceTree.remove(directory)
        }
    }

    /// Removes the temporary directory, after the build.
    func removeTemporary() async {
        _ = try? await BlockingCall.run { [temporary] in SourceTree.remove(temporary) }
    }

    /// A file of the project's code (relative to `src/`) read by the agent: a link is followed only as far as it
    /// stays in the code, and only a regular file of at most `limit` bytes is read. Nil when there is none.
    func readCode(_ relative: String, limit: Int = 1 << 20) -> [UInt8]? {
        let code = directory + "/src"
        guard let resolvedCode = try? FileSystem.resolve(code),
              let resolved = try? FileSystem.resolve(code + "/" + relative),
              resolved.hasPrefix(resolvedCode + "/"),
              case .contents(let bytes, _)? = try? FileIO.read(resolved, limit: limit)
        else { return nil }
        return bytes
    }

    /// Runs a step in the sandbox with this build's temporary directory as `/tmp`.
    func run(_ command: [String], step: String, mounts: [BuildSandbox.Mount], network: BuildSandbox.Network = .none,
             workingDirectory: String = BuildSandbox.buildPath, environment: [String: String] = [:], timeout: Double,
             watch: [BuildSandbox.SizeWatch] = []) async throws(BuildError) -> Subprocess.Outcome
    {
        try await sandbox.run(command, step: step, mounts: mounts, temporary: temporary, network: network,
                              workingDirectory: workingDirectory, environment: environment, timeout: timeout,
                              watch: watch)
    }
}
