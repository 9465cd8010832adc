import ArgumentParser
import DZClient
import DZSpool
import DZWork

struct HostnamesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostnames",
        abstract: "List, add or remove the app's host names.",
        discussion: """
            `dz hostnames --project P` lists them; `add NAME...` and `remove NAME...` submit a hostnames job: a \
            new release of the current bundle whose instances accept the new names, and the site rendered \
            again with them. Wildcards (*.example.com) are allowed. A name is refused when another project has \
            it or a name that overlaps it (a wildcard over it, or a name under it), when it is a public suffix \
            (com, co.uk, *.com), an IP address, localhost, or a .localhost name other than the project's own \
            (<project>.localhost and names under it). Exit 0 when the job succeeded, 1 when it failed.
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable { case list, add, remove }

    @OptionGroup var options: SpoolOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Argument(help: "list, add or remove.")
    var action: Action = .list

    @Argument(help: ArgumentHelp("Host names to add or remove.", valueName: "name"))
    var names: [String] = []

    func validate() throws {
        switch action {
        case .list:
            guard names.isEmpty else { throw ValidationError("list takes no names") }
        case .add, .remove:
            guard !names.isEmpty else { throw ValidationError("\(action.rawValue) needs at least one host name") }
            if action == .add {
                try HostnameCheck.validate(names, project: project.project)
            } else {
                for name in names {
                    do { _ = try Hostname(name) } catch { throw ValidationError(error.description) }
                }
            }
        }
    }

    func run() async throws {
        if action == .list {
            let client = try options.client()
            let document = try reportingClientErrors { () throws(ClientError) in try client.state.project(project.project) }
            let names = document?.hostnames ?? []
            guard !names.isEmpty else {
                complain("project \(project.project) has no host names yet: deploy it first")
                throw ExitStatus.notFound
            }
            for name in names { print(name) }
            return
        }
        let list = names.map { $0.lowercased() }.joined(separator: ",")
        guard let job = try await wait.submit("hostnames", project: project.project, params: [action.rawValue: .string(list)],
                                              what: "\(action.rawValue) \(list) for \(project.project)",
                                              options: options) else { return }
        job.printURLs()
    }
}
