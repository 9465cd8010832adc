import ArgumentParser
import DZClient
import DZSpool
import DZSystem
import Foundation

struct GitInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Make a project's bare repository whose post-receive hook deploys what is pushed to its branch.",
        discussion: """
            Makes <repos>/<project>.git (once) and writes its hooks/post-receive (every time), which runs \
            `dz git post-receive` with this spool. Prints the repository's path: push to it (a local path, or \
            ssh to this host). The build agent reads the repository by its path: it must run on this host with \
            --allow-local-sources and be able to read it.
            """)

    @OptionGroup var options: SpoolOptions

    @OptionGroup var push: PushOptions

    @Option(name: .customLong("max-push-size"), help: ArgumentHelp("The most one push may send (git's receive.maxInputSize; default 512MiB).", valueName: "size"))
    var maxPushSize: String?

    @Option(name: .long, help: ArgumentHelp("The directory of the repositories (default: <state>/repos, as the zoomdb's <state>).", valueName: "dir"))
    var repos: String?

    func validate() throws {
        if let maxPushSize, (ByteSize.parse(maxPushSize) ?? 0) <= 0 {
            throw ValidationError("--max-push-size: not a size: \(maxPushSize) (a number of bytes, or with k, M, G)")
        }
    }

    func run() async throws {
        let spool = try options.makeSpool()
        let environment = ProcessInfo.processInfo.environment
        guard let directory = repos ?? PushRepository.defaultRepositories(environment: environment) else {
            complain("no state directory for this user: give --repos")
            throw ExitStatus.usage
        }
        let absolute = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        let repository = try reportingClientErrors { () throws(ClientError) in
            try PushRepository(project: push.project, repositories: absolute, branch: push.branch, parameters: push.params,
                               maxPushSize: maxPushSize.flatMap(ByteSize.parse) ?? PushRepository.defaultMaxPushSize)
        }
        guard let dz = try? ProcessTable.ownExecutable(), let spoolPath = try? FileSystem.resolve(spool.root)
        else {
            complain("cannot resolve this dz binary's path or the spool \(spool.root) (does it exist? dz init makes it)")
            throw ExitStatus.unavailable
        }
        do {
            let made = try await repository.create(dz: dz, spool: spoolPath)
            print(repository.path)
            if !made { complain("\(repository.path) existed: its hook was renewed, nothing else changed") }
        } catch {
            complain(error.description)
            throw ExitStatus.code(for: error)
        }
    }
}
