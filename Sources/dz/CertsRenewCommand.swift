import ArgumentParser
import DZSpool
import DZTasks

struct CertsRenewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Renew the proxy's ACME certificates that expire soon (run it daily).",
        discussion: "Exit 0 when every due certificate was renewed, 1 when one failed, 75 when no proxy answered in time.")

    @OptionGroup var options: CertsOptions

    @Option(name: .long, help: ArgumentHelp("Renew certificates that expire within this many days.", valueName: "days"))
    var days: Int = 30

    func validate() throws {
        guard (0...365).contains(days) else { throw ValidationError("--days must be from 0 to 365") }
    }

    func run() async throws {
        try await options.run(RenewCertsTask.name, args: RenewCertsTask.Arguments(days: Double(days)).json) { json in
            let output = (try? RenewCertsTask.Output(json: json)) ?? RenewCertsTask.Output(checked: 0, renewed: [])
            return "checked \(output.checked) ACME certificates; renewed: "
                + (output.renewed.isEmpty ? "none" : output.renewed.joined(separator: ", "))
        }
    }
}
