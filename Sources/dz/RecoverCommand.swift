import ArgumentParser
import DZClient
import DZSpool
import DZStore

struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Move every app instance off a lost appserver onto the healthy ones.",
        discussion: """
            Submits one recover job per project with instances on the appserver (as the coordinator published \
            them in the spool's state/summary.json) and \
            waits for them: new instances elsewhere, health-checked, put in the site; the lost ones are marked \
            stopped, and a stop for them waits in the appserver's queue until it comes back. Exit 0 when every \
            job succeeded, 1 when one failed or there was nothing to recover.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var wait: WaitOption

    @Option(name: .long, help: ArgumentHelp("The lost appserver's id.", valueName: "id"))
    var appserver: String

    func validate() throws {
        guard (try? HostID(appserver)) != nil else { throw ValidationError("invalid appserver id \"\(appserver)\"") }
    }

    func run() async throws {
        let client = try options.client()
        guard let summary = client.state.summary() else {
            complain("nothing published in \(client.spool.root)/state yet: is a coordinator of this dz running?")
            throw ExitStatus.unavailable
        }
        let projects = summary.projects(on: appserver)
        guard !projects.isEmpty else {
            complain("no running instance is recorded on appserver \(appserver)")
            throw ExitStatus.notFound
        }
        var failed = false
        for project in projects {
            do {
                guard let job = try await wait.submit("recover", project: project,
                                                      params: ["appserver": .string(appserver)],
                                                      what: "recover of \(project) from \(appserver)",
                                                      options: options) else { continue }
                let started = (job.result["started"]?.arrayValue ?? []).compactMap { $0["appserver"]?.stringValue }
                print("\(project): now on \(started.joined(separator: ", "))")
            } catch let code as ExitCode where code == ExitStatus.notFound {
                // The job failed; JobWaiter said why. Recover the other projects all the same.
                failed = true
            }
        }
        if failed { throw ExitStatus.notFound }
    }
}
