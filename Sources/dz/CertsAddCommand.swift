import ArgumentParser
import DZSpool
import DZSystem
import DZTasks

struct CertsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Serve a host name of an app over TLS with a given certificate and key.",
        discussion: """
            The certificate (PEM, with its chain) and the key (PEM, unencrypted) are read from files; --key - \
            reads the key from standard input. The key is never a command line value. The proxy checks the \
            pair before anything changes (it parses, has not expired, covers the host name, the key is the \
            certificate's), keeps it 0600, and serves the name on its TLS port, redirecting HTTP to HTTPS \
            except /.well-known/acme-challenge/. Exit 0 when installed, 1 when the proxy refused it, 65 when a \
            file cannot be read, 75 when no proxy answered in time.
            """)

    @OptionGroup var options: CertsOptions
    @OptionGroup var project: ProjectOption

    @Option(name: .long, help: ArgumentHelp("The host name the certificate is for (one of the app's).", valueName: "hostname"))
    var hostname: String

    @Option(name: .customLong("cert"), help: ArgumentHelp("The certificate file (PEM, with its chain).", valueName: "file"))
    var certificate: String

    @Option(name: .long, help: ArgumentHelp("The private key file (PEM), or - for standard input.", valueName: "file"))
    var key: String

    func validate() throws {
        guard (try? Hostname(hostname)) != nil else { throw ValidationError("invalid host name \"\(hostname)\"") }
        guard certificate != "-" || key != "-" else { throw ValidationError("only one of --cert and --key can be -") }
    }

    func run() async throws {
        let certificateBytes = try read(certificate, "certificate")
        let keyBytes = try read(key, "key")
        let args = InstallCertTask.Arguments(
            project: try ProjectID(project.project), hostname: try Hostname(hostname.lowercased()),
            certificate: String(decoding: certificateBytes, as: UTF8.self),
            privateKey: String(decoding: keyBytes, as: UTF8.self))
        try await options.run(InstallCertTask.name, args: args.json, describe: certificateSummary)
    }

    /// The bytes of `path` (standard input for `-`), at most 256 KiB.
    private func read(_ path: String, _ what: String) throws -> [UInt8] {
        let limit = 256 << 10
        let bytes: [UInt8]
        do throws(Errno) {
            bytes = path == "-" ? try FileIO.readAll("/dev/stdin") : try FileIO.readAll(path)
        } catch {
            complain("cannot read the \(what) \(path): \(error)")
            throw ExitStatus.badInput
        }
        guard !bytes.isEmpty, bytes.count <= limit else {
            complain("the \(what) \(path == "-" ? "on standard input" : path) must be 1 byte to 256 KiB")
            throw ExitStatus.badInput
        }
        return bytes
    }
}
