import DZSpool
import DZSystem

/// The appservers that can run a bundle already built with a given Python (a rollback's): the bundle's venv runs
/// only with the same minor version (`BundleInstaller` links it to the appserver's interpreter of that minor), so
/// a live appserver whose heartbeat's `pythons` lacks it is left out of placement, and when every live appserver
/// that says lacks it, placement fails at once with the sentence that says what to add. Appservers that do not
/// say (an older dz) are not judged. Pure: the handler reads the heartbeats, this decides.
public struct BundlePython: Sendable {
    /// `major.minor`.
    public let minor: String
    public var maxAge: Double = 30

    /// From a version `3.11` or `3.11.4`; nil for anything else.
    public init?(_ version: String) {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII)
            && $0.allSatisfy(\.isNumber) && $0.count <= 4 }) else { return nil }
        minor = parts[0] + "." + parts[1]
    }

    /// What placement must do: the appservers to leave out, and the refusal when no live appserver can run it.
    public struct Verdict: Sendable, Equatable {
        public var lacking: Set<String> = []
        public var refusal: String?
    }

    public func verdict(_ heartbeats: [Heartbeat], now: Timestamp = .now()) -> Verdict {
        var verdict = Verdict()
        var judged: [String] = []
        var anyCanRun = false
        for appserver in PythonPlacement.appserverPythons(heartbeats, maxAge: maxAge, now: now) {
            guard let versions = appserver.versions, !versions.contains(minor) else {
                anyCanRun = true
                continue
            }
            verdict.lacking.insert(appserver.host)
            judged.append(PythonPlacement.describe(appserver.host, versions))
        }
        if !anyCanRun, !judged.isEmpty {
            verdict.refusal = "the bundle was built for Python \(minor) and no live appserver offers it ("
                + judged.joined(separator: "; ") + "): install Python \(minor) on an appserver (a python\(minor) in "
                + "/usr/bin or /usr/local/bin, or any other with dz agent --pythons PATH), or deploy a new build"
        }
        return verdict
    }
}
