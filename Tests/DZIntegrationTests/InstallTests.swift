import Foundation
import Testing

extension Integration {
    /// `scripts/install`, the install path of etc/README: the binary, the manual pages and shell completions
    /// that complete what the installed binary has.
    @Suite(.serialized) struct InstallTests {
        private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path

        /// Runs `program` with `arguments` to its end; standard error goes to standard output.
        private func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: Self.repository)
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }

        /// What bash's completion offers for `words` (the last being the word under the cursor) with the
        /// installed completion file loaded, as bash-completion would call it.
        private func complete(_ file: String, _ words: [String]) throws -> [String] {
            let script = """
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _dz dz "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                printf '%s\\n' "${COMPREPLY[@]}"
                """
            let result = try run("/bin/bash", ["-c", script, "bash", file] + words)
            #expect(result.status == 0, "\(result.output)")
            return result.output.split(separator: "\n").map(String.init)
        }

        @Test func installPutsTheBinaryManualsAndCompletionsUnderThePrefix() throws {
            let stage = NSTemporaryDirectory() + "dz-install-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: stage) }
            let result = try run(Self.repository + "/scripts/install",
                                 ["--dz", try DZBinary.path(), "--destdir", stage, "--prefix", "/usr/local"])
            #expect(result.status == 0, "\(result.output)")
            let root = stage + "/usr/local"
            for file in ["bin/dz", "share/man/man1/dz.1", "share/man/man5/dz-spool.5", "share/man/man5/dz-bundle.5",
                         "share/man/man5/zoombuild.cfg.5", "share/zsh/site-functions/_dz",
                         "share/fish/vendor_completions.d/dz.fish", "share/bash-completion/completions/dz"]
            {
                let size = (try? FileManager.default.attributesOfItem(atPath: root + "/" + file)[.size] as? Int) ?? 0
                #expect(size > 0, "\(file) is missing or empty")
            }
            #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/dz"))

            let bash = root + "/share/bash-completion/completions/dz"
            #expect(try complete(bash, ["dz", "jo"]) == ["job"])
            #expect(try complete(bash, ["dz", "job", "s"]).sorted() == ["show", "submit"])
            #expect(try complete(bash, ["dz", "job", "show", "--j"]) == ["--json"])
            let deploy = try complete(bash, ["dz", "deploy", "--"])
            for option in ["--project", "--hostname", "--db-engine", "--no-wait", "--spool"] {
                #expect(deploy.contains(option), "dz deploy -- completes \(deploy)")
            }
            // Every command of the installed binary is offered.
            let commands = try complete(bash, ["dz", ""])
            let help = try run(root + "/bin/dz", ["--help"]).output
            for command in ["init", "agent", "coordinator", "deploy", "rollback", "logs", "doctor", "receive"] {
                #expect(commands.contains(command) && help.contains(command), "\(command): completes \(commands)")
            }
        }

        @Test func installRefusesAnUnknownArgumentWith64AndInstallsNothing() throws {
            let stage = NSTemporaryDirectory() + "dz-install-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: stage) }
            let result = try run(Self.repository + "/scripts/install", ["--dz", try DZBinary.path(), "--destdir", stage, "--bogus"])
            #expect(result.status == 64, "\(result.output)")
            #expect(result.output.contains("--bogus"))
            #expect(!FileManager.default.fileExists(atPath: stage))
        }
    }
}
