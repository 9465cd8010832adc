import ArgumentParser

struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Serve an app's host names over TLS: a given certificate, or one from ACME; renewal.",
        subcommands: [CertsAddCommand.self, CertsAcmeCommand.self, CertsRenewCommand.self])
}
