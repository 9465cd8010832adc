import ArgumentParser
import DZClient
import DZSystem
import Foundation

struct GitShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "The forced command of an ssh key that may only push to (and fetch from) one project's repository.",
        discussion: """
            For authorized_keys: command="dz git shell --project P",restrict <key>. Reads SSH_ORIGINAL_COMMAND \
            and runs git-receive-pack or git-upload-pack on <repos>/P.git, and nothing else: any other command, \
            repository or a login shell is refused with exit 64.
            """)

    @Option(name: .long, help: ArgumentHelp("The one project this key may push to.", valueName: "project"))
    var project: String

    @Option(name: .long, help: ArgumentHelp("The directory of the repositories (default: as for git init).", valueName: "dir"))
    var repos: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = repos ?? PushRepository.defaultRepositories(environment: environment) else {
            complain("no state directory for this user: give --repos")
            throw ExitStatus.usage
        }
        let (repository, service) = try reportingClientErrors { () throws(ClientError) in
            let repository = try PushRepository(project: project, repositories: directory, branch: "main")
            return (repository, try PushShell.service(for: environment["SSH_ORIGINAL_COMMAND"], project: project))
        }
        guard let program = Subprocess.locate(service, path: "/usr/bin:/bin:/usr/lib/git-core") else {
            complain("\(service) is not installed on this host")
            throw ExitStatus.unavailable
        }
        // git and the hook it runs get a plain environment: no variable of the ssh client reaches them.
        var plain = ["PATH": "/usr/bin:/bin"]
        for name in ["HOME", "USER", "LOGNAME", "LANG", "LC_ALL"] { plain[name] = environment[name] }
        do {
            try Host.replaceProcess(executable: program, arguments: [service, repository.path], environment: plain)
        } catch {
            complain("cannot run \(program): \(error)")
            throw ExitStatus.unavailable
        }
    }
}
