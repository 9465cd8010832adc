import DZSystem
import Foundation

/// What the appserver knows of a bundle it installed, from the archive it checked: `<instancesRoot>/<project>/
/// .bundles/<bundle>.json` (root's, mode 0600). The bundle's directory belongs to the app, which may change
/// anything in it; this record does not, so the interpreter an instance runs on and the installation the sandbox
/// binds come from here, and a bundle directory without a record is not taken for an installed bundle.
package struct InstalledBundle: Sendable, Equatable, Codable {
    var project: String
    var bundle: String
    /// The SHA-256 of the archive it came from.
    var sha256: String
    /// As the manifest records it (`3.11.2`).
    var pythonVersion: String
    /// The allowed interpreter chosen for that version: what `venv/bin/python` links to.
    var interpreter: String
    var installed: String
    /// The key of the project's shared venv (`SharedVirtualenvs`) that the bundle's `venv` links to; nil for a
    /// bundle that holds its own (installed by an older dz).
    package var venv: String?

    enum CodingKeys: String, CodingKey {
        case project, bundle, sha256, interpreter, installed, venv
        case pythonVersion = "python_version"
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [10]
    }

    static func decode(_ bytes: [UInt8]) throws -> InstalledBundle {
        try JSONDecoder().decode(InstalledBundle.self, from: Data(bytes))
    }
}
