import DZSystem
import Foundation

/// Debian's `pebble`, a small ACME server, on 127.0.0.1 for the time of a test, with `pebble-challtestsrv` as its
/// DNS server (every name resolves to 127.0.0.1), so that its HTTP-01 validations really fetch
/// `http://<name>:<httpPort>/.well-known/acme-challenge/<token>` from the nginx under test. Its own TLS
/// certificate comes from a `TestCA` (Debian ships none of pebble's test certificates); `PEBBLE_VA_NOSLEEP=1`
/// skips its artificial validation delays. Missing pebble is a failure with what to install, never a skip.
public struct PebbleServer: Sendable {
    /// The ACME directory URL.
    public let directoryURL: String
    /// The management interface (`/roots/0`: the root that signs what pebble issues).
    public let managementURL: String
    /// The CA that pebble's own TLS certificate is signed by: give it to the ACME client.
    public let ca: TestCA

    /// Runs pebble, validating HTTP-01 on `httpPort`, for the time of `body`; both processes are killed with
    /// their process groups when it ends.
    public static func with<T: Sendable>(httpPort: Int, ca: TestCA, in directory: String,
                                         _ body: (PebbleServer) async throws -> T) async throws -> T
    {
        for program in ["pebble", "pebble-challtestsrv"] where Subprocess.locate(program) == nil {
            throw NginxServer.Failure.failed("\(program) is not installed: apt-get install -y pebble")
        }
        let issued = try await ca.issue(["localhost", "127.0.0.1"], stem: "pebble")
        let (listen, management, dns, tls) = (try FreePort.loopback(), try FreePort.loopback(), try FreePort.loopback(),
                                              try FreePort.loopback())
        let config = directory + "/pebble-config.json"
        try? FileSystem.unlink(config)
        let text = """
            {"pebble": {"listenAddress": "127.0.0.1:\(listen)", "managementListenAddress": "127.0.0.1:\(management)",
             "certificate": "\(issued.certificatePath)", "privateKey": "\(issued.keyPath)",
             "httpPort": \(httpPort), "tlsPort": \(tls), "ocspResponderURL": "", "externalAccountBindingRequired": false}}
            """
        try FileIO.create(config, bytes: Array(text.utf8), mode: 0o600, sync: false)
        var variables = ProcessInfo.processInfo.environment
        variables["PEBBLE_VA_NOSLEEP"] = "1"
        variables["PEBBLE_WFE_NONCEREJECT"] = "0"
        let environment = variables
        let server = PebbleServer(directoryURL: "https://127.0.0.1:\(listen)/dir",
                                  managementURL: "https://127.0.0.1:\(management)", ca: ca)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                let outcome = try await Subprocess.run(
                    ["pebble-challtestsrv", "-dns01", "127.0.0.1:\(dns)", "-http01", "", "-https01", "",
                     "-tlsalpn01", "", "-management", "127.0.0.1:\(try FreePort.loopback())", "-defaultIPv6", ""],
                    timeout: 900, outputLimit: 64 << 10, kept: .tail)
                if outcome.ending != .cancelled {
                    throw NginxServer.Failure.failed("pebble-challtestsrv ended: \(outcome.ending): \(outcome.tail())")
                }
                return nil
            }
            group.addTask {
                let outcome = try await Subprocess.run(
                    ["pebble", "-config", config, "-dnsserver", "127.0.0.1:\(dns)"], environment: environment,
                    timeout: 900, outputLimit: 64 << 10, kept: .tail)
                if outcome.ending != .cancelled {
                    throw NginxServer.Failure.failed("pebble ended: \(outcome.ending): \(outcome.tail())")
                }
                return nil
            }
            let up = try await NginxServer.poll(timeout: 30) {
                FreePort.isListening(listen) && FreePort.isListening(management) && FreePort.isListening(dns)
            }
            guard up else { throw NginxServer.Failure.failed("pebble did not start listening on 127.0.0.1:\(listen)") }
            let result = try await body(server)
            group.cancelAll()
            return result
        }
    }

    /// The PEM root that signs the certificates pebble issues (it makes a new one each start).
    public func issuingRoot(to path: String) async throws {
        let outcome = try await Subprocess.run(["curl", "--silent", "--show-error", "--fail", "--max-time", "20",
                                                "--cacert", ca.certificatePath, "-o", path,
                                                managementURL + "/roots/0"], timeout: 60)
        guard outcome.succeeded else { throw NginxServer.Failure.failed("pebble's root: \(outcome.tail())") }
    }
}
