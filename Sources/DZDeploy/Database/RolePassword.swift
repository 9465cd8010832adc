import CCrypto
import Foundation

/// An app role's password: 32 characters from `[A-Za-z0-9]` (about 190 bits), so that it needs no quoting in a
/// DATABASE_URL, a pgpass line or SQL.
///
/// Drawn with `SystemRandomNumberGenerator`, which on Linux reads `getrandom(2)`, and `randomElement(using:)`,
/// which draws without modulo bias.
struct RolePassword: Sendable, Equatable {
    static let length = 32
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    let text: String

    /// A new random password.
    static func generate() -> RolePassword {
        var random = SystemRandomNumberGenerator()
        return RolePassword(checked: String((0..<length).map { _ in alphabet.randomElement(using: &random)! }))
    }

    /// A password read back from its file; nil unless it has the shape `generate` gives.
    init?(_ text: String) {
        guard text.utf8.count == RolePassword.length,
              text.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else { return nil }
        self.text = text
    }

    private init(checked text: String) { self.text = text }

    /// The SCRAM-SHA-256 verifier PostgreSQL stores for this password (RFC 5802, RFC 7677), in the form
    /// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    ///
    /// dz sends `PASSWORD '<verifier>'` rather than the password, as psql's `\password` does: the server never
    /// sees the password, so it cannot reach the server's statement log either. An ASCII alphanumeric password is
    /// unchanged by SASLprep, so no normalisation is needed.
    func scramVerifier(iterations: Int = 4096) -> String {
        var random = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        return RolePassword.scramVerifier(password: text, salt: salt, iterations: iterations)
    }

    static func scramVerifier(password: String, salt: [UInt8], iterations: Int) -> String {
        let salted = pbkdf2SHA256(password: Array(password.utf8), salt: salt, iterations: iterations)
        let clientKey = hmacSHA256(key: salted, message: Array("Client Key".utf8))
        let storedKey = sha256(clientKey)
        let serverKey = hmacSHA256(key: salted, message: Array("Server Key".utf8))
        return "SCRAM-SHA-256$\(iterations):\(base64(salt))$\(base64(storedKey)):\(base64(serverKey))"
    }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// The corresponding C function is OpenSSL's `PKCS5_PBKDF2_HMAC`.
    private static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        password.withUnsafeBufferPointer { pass in
            pass.withMemoryRebound(to: CChar.self) { pass in
                _ = PKCS5_PBKDF2_HMAC(pass.baseAddress, Int32(pass.count), salt, Int32(salt.count),
                                      Int32(iterations), EVP_sha256(), Int32(key.count), &key)
            }
        }
        return key
    }

    /// HMAC-SHA-256 (RFC 2104) for keys of at most one block, as SCRAM's 32-byte keys are.
    private static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let block = key + [UInt8](repeating: 0, count: 64 - key.count)
        let inner = sha256(block.map { $0 ^ 0x36 } + message)
        return sha256(block.map { $0 ^ 0x5c } + inner)
    }

    /// The corresponding C function is OpenSSL's `SHA256`.
    private static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        _ = SHA256(bytes, bytes.count, &digest)
        return digest
    }
}
