import DZSystem
import Foundation

/// A directory of wheels for builds on hosts that cannot reach a package index (a cluster's namespaces have no
/// route out): downloaded once from the root namespace with the system Python's pip, kept in
/// `/var/tmp/dz-test-wheels/<key>` for later runs, and given to the builder as `PIP_NO_INDEX=1` and
/// `PIP_FIND_LINKS=<dir>`.
public enum Wheels {
    /// A directory holding wheels of `requirements` for /usr/bin/python3 (downloaded if it is not there yet).
    public static func directory(for requirements: [String]) async throws -> String {
        let key = requirements.joined(separator: " ").utf8.reduce(UInt64(14_695_981_039_346_656_037)) {
            ($0 ^ UInt64($1)) &* 1_099_511_628_211
        }
        let directory = "/var/tmp/dz-test-wheels/" + String(key, radix: 16)
        if FileSystem.exists(directory + "/.complete") { return directory }
        try FileSystem.makeDirectories(directory, mode: 0o755)
        let outcome = try await Subprocess.run(
            ["/usr/bin/python3", "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:",
             "-d", directory] + requirements,
            environment: ["PATH": Cluster.path, "HOME": "/root"], timeout: 600)
        guard outcome.succeeded else {
            throw Cluster.Failure("pip download \(requirements.joined(separator: " ")): \(outcome.tail())")
        }
        try FileIO.create(directory + "/.complete", bytes: [], sync: false)
        return directory
    }

    /// The environment a builder needs to install from `directory` alone.
    public static func environment(_ directory: String) -> [String: String] {
        ["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": directory]
    }
}
