import ArgumentParser
import DZSpool

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
        try await options.run("renew_certs", args: ["days": .int(Int64(days))]) { output in
            let renewed = (output["renewed"]?.arrayValue ?? []).compactMap(\.stringValue)
            return "checked \(output["checked"]?.intValue ?? 0) ACME certificates; renewed: "
                + (renewed.isEmpty ? "none" : renewed.joined(separator: ", "))
        }
    }
}
