import DZSpool
import DZSystem

/// What dz checks of a certificate and its key before anything on the proxy changes, with `openssl` (the
/// command, from Debian's `openssl`; both files are read from a private directory, never from a command line):
/// the certificate parses as PEM, has not expired (`-checkend 0`), covers the host name (`-checkhost`, wildcards
/// and subject alternative names as TLS clients read them), and its public key is the private key's.
public struct CertificateCheck: Sendable {
    /// The `openssl` program: a name looked up on `PATH` or a path.
    public var openssl: String = "openssl"
    /// Seconds each `openssl` command may take.
    public var timeout: Double = 30

    public init(openssl: String = "openssl") {
        self.openssl = openssl
    }

    /// Checks the PEM files `certificate` and `key` for `hostname`; throws `ProxyError.certificate` with what is
    /// wrong. Returns the certificate's expiry (`notAfter` as openssl prints it).
    @discardableResult
    public func check(certificate: String, key: String, hostname: Hostname) async throws(ProxyError) -> String {
        let dates = try await run(["x509", "-in", certificate, "-noout", "-enddate"])
        guard dates.succeeded, let notAfter = Self.value(of: "notAfter", in: dates.stdoutText) else {
            throw .certificate("the certificate is not a PEM X.509 certificate that openssl can read")
        }
        guard try await isValid(certificate: certificate, forSeconds: 0) else {
            throw .certificate("the certificate expired (\(notAfter))")
        }
        let host = try await run(["x509", "-in", certificate, "-noout", "-checkhost", hostname.rawValue])
        // openssl prints "Hostname NAME does match certificate" or "... does NOT match certificate".
        guard host.succeeded, host.stdoutText.contains(" does match certificate") else {
            throw .certificate("the certificate does not cover \(hostname) (its names: \(try await names(certificate)))")
        }
        let certificateKey = try await run(["x509", "-in", certificate, "-noout", "-pubkey"])
        // -passin with an empty password: an encrypted key fails at once instead of asking on a terminal.
        let privateKey = try await run(["pkey", "-in", key, "-passin", "pass:", "-pubout"])
        guard privateKey.succeeded, privateKey.stdoutText.contains("-----BEGIN PUBLIC KEY-----") else {
            throw .certificate("the key is not an unencrypted PEM private key that openssl can read")
        }
        guard certificateKey.succeeded, certificateKey.stdout == privateKey.stdout else {
            throw .certificate("the key is not the certificate's: their public keys differ")
        }
        return notAfter
    }

    /// Whether `certificate` is still valid `seconds` from now (`openssl x509 -checkend`); false also when it
    /// cannot be read.
    public func isValid(certificate: String, forSeconds seconds: Int) async throws(ProxyError) -> Bool {
        let outcome = try await run(["x509", "-in", certificate, "-noout", "-checkend", String(max(0, seconds))])
        return outcome.succeeded
    }

    /// The certificate's subject alternative names (or its subject), for a message.
    func names(_ certificate: String) async throws(ProxyError) -> String {
        let outcome = try await run(["x509", "-in", certificate, "-noout", "-ext", "subjectAltName", "-subject"])
        let lines = outcome.stdoutText.split(separator: "\n").map { String($0.drop(while: { $0 == " " })) }
            .filter { !$0.isEmpty && !$0.hasPrefix("X509v3") }
        return NginxToken.printable(lines.joined(separator: "; "))
    }

    private func run(_ arguments: [String]) async throws(ProxyError) -> Subprocess.Outcome {
        do {
            let outcome = try await Subprocess.run([openssl] + arguments, timeout: timeout, killGrace: 2,
                                                   outputLimit: 256 << 10)
            switch outcome.ending {
            case .timedOut: throw ProxyError.timedOut(command: "openssl " + (arguments.first ?? ""), seconds: timeout)
            case .cancelled: throw ProxyError.cancelled("checking a certificate")
            case .exited, .signalled: return outcome
            }
        } catch let error as ProxyError {
            throw error
        } catch Subprocess.Failure.notFound(let program) {
            throw .badSettings("\(program): not found: install openssl (apt-get install -y openssl)")
        } catch {
            throw .certificate("cannot run openssl: \(error)")
        }
    }

    /// The value after `name=` on the line that starts with it.
    static func value(of name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "=") {
            return String(line.dropFirst(name.count + 1))
        }
        return nil
    }
}
