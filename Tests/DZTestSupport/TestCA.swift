import DZSystem
import Foundation

/// A certificate authority made for one test with `openssl` (Debian's): `ca.pem` and its key in `directory`, and
/// certificates it signs for given names (P-256 keys, subject alternative names), valid for `days` (negative:
/// already expired).
public struct TestCA: Sendable {
    public let directory: String
    public var certificatePath: String { directory + "/ca.pem" }
    private var keyPath: String { directory + "/ca.key" }

    /// A leaf certificate and its key.
    public struct Issued: Sendable {
        public let certificatePath: String
        public let keyPath: String

        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// Makes a CA in `directory` (created if missing).
    public static func make(in directory: String, name: String = "dz test CA") async throws -> TestCA {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        let ca = TestCA(directory: directory)
        try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                           "-keyout", ca.keyPath, "-out", ca.certificatePath, "-days", "3", "-subj", "/CN=" + name])
        return ca
    }

    /// A certificate for `names` (DNS names or IPv4 literals), valid for `days`, with a new key; `stem` names the
    /// files.
    public func issue(_ names: [String], days: Int = 2, stem: String) async throws -> Issued {
        let key = directory + "/" + stem + ".key"
        let request = directory + "/" + stem + ".csr"
        let certificate = directory + "/" + stem + ".pem"
        let extensions = directory + "/" + stem + ".ext"
        try await Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                                key, "-out", request, "-subj", "/CN=" + names[0]])
        let alternatives = names.map { name in
            name.allSatisfy({ $0.isNumber || $0 == "." }) ? "IP:" + name : "DNS:" + name
        }
        try? FileSystem.unlink(extensions)
        try FileIO.create(extensions, bytes: Array(("subjectAltName=" + alternatives.joined(separator: ",") + "\n").utf8),
                          mode: 0o600, sync: false)
        try await Self.openssl(["x509", "-req", "-in", request, "-CA", certificatePath, "-CAkey", keyPath,
                                "-CAcreateserial", "-days", String(days), "-extfile", extensions, "-out", certificate])
        return Issued(certificatePath: certificate, keyPath: key)
    }

    private static func openssl(_ arguments: [String]) async throws {
        let outcome = try await Subprocess.run(["openssl"] + arguments, timeout: 60)
        guard outcome.succeeded else {
            throw NginxServer.Failure.failed("openssl \(arguments.first ?? ""): \(outcome.tail())")
        }
    }
}
