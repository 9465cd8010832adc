import ArgumentParser
import DZClient
import DZSpool

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show each queue's files, the jobs, the coordinator and each agent's last heartbeat.",
        discussion: """
            From the spool alone, on any host: the jobs as the coordinator last published them \
            (state/summary.json, at most a few seconds old), the coordinator and its zoomdb from its lease. It \
            never opens the zoomdb. Exit 0; 69 without a spool.
            """)

    @OptionGroup var options: SpoolOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let report = try reportingClientErrors { () throws(ClientError) in try StatusReport(spool: options.makeSpoolChecked()) }
        if json {
            print(JSONValue.object(report.jsonObject).jsonText)
        } else {
            print(report.text, terminator: "")
        }
    }
}

extension SpoolOptions {
    /// The spool, or `usage` for a bad host id (checked by `validate()` already).
    func makeSpoolChecked() throws(ClientError) -> Spool {
        do { return try makeSpool() } catch { throw .usage("\(error)") }
    }
}

/// `1.2s`, `3m`, `2h`, `4d`: an age at a glance.
func age(_ seconds: Double) -> String { TextFormat.age(seconds) }

func format1(_ value: Double) -> String { TextFormat.tenths(value) }

/// Prints rows as left-aligned columns.
func printTable(_ rows: [[String]]) { print(TextFormat.table(rows), terminator: "") }
