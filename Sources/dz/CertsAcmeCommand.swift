import ArgumentParser
import DZSpool
import DZTasks

struct CertsAcmeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acme",
        abstract: "Obtain a certificate for an app's host names from the proxy's ACME server and serve it.",
        discussion: """
            The proxy's agent runs lego against its --acme-directory, answering HTTP-01 through its nginx, \
            for the app's host names on that proxy (wildcards left out) or the ones given; renew_certs renews \
            the certificate before it expires. Exit 0 when installed, 1 when it failed, 75 when no proxy \
            answered in time.
            """)

    @OptionGroup var options: CertsOptions
    @OptionGroup var project: ProjectOption

    @Option(name: .long, help: ArgumentHelp("Host names to cover (comma-separated; default: the app's).", valueName: "names"))
    var hostnames: String?

    func validate() throws {
        for name in (hostnames ?? "").split(separator: ",") where (try? Hostname(String(name))) == nil {
            throw ValidationError("invalid host name \"\(name)\"")
        }
    }

    func run() async throws {
        let args = ObtainCertTask.Arguments(project: try ProjectID(project.project),
                                            hostnames: try Hostname.list(hostnames.map { .string($0) }))
        try await options.run(ObtainCertTask.name, args: args.json, describe: certificateSummary)
    }
}
