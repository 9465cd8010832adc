import DZBuild
import DZSource
import DZSpool
import DZSystem

/// Whether the Python a project asks for can both build and run, decided before the build: the build host
/// builds with one of its interpreters and the bundle runs only on an appserver with the same minor version
/// (`AllowedPythons`). The version chosen is the newest the requirement allows that this build host offers and
/// at least one live appserver offers (its heartbeat's `pythons`); appservers that do not say (an older dz) are
/// not judged. Pure: the handler reads the heartbeats, this decides.
public struct PythonPlacement: Sendable {
    public var requirement: PythonRequirement?
    /// What the requirement was read from, for the message: `python_version in zoombuild.cfg`.
    public var basis: String?
    /// The interpreters of the build host that runs the check.
    public var buildPythons: AllowedPythons
    /// Appservers whose heartbeat is older than this are not counted.
    public var maxAge: Double = 30

    public init(requirement: PythonRequirement?, basis: String?, buildPythons: AllowedPythons) {
        self.requirement = requirement
        self.basis = basis
        self.buildPythons = buildPythons
    }

    /// The minor version to build with (nil: no appserver says, the build host's newest fitting one), or the
    /// one-sentence reason to refuse the job.
    public func check(_ heartbeats: [Heartbeat], now: Timestamp = .now()) -> Result<String?, PythonUnavailable> {
        let wanted = requirement ?? PythonRequirement("*")!
        let buildable = buildPythons.versions.filter { version in wanted.newest(of: [version]) != nil }
        guard !buildable.isEmpty else {
            return .failure(PythonUnavailable(message: AllowedPythons.unavailable(
                wanted, basis: basis, host: "this build host", offered: buildPythons.summary)))
        }
        let offered = Self.appserverPythons(heartbeats, maxAge: maxAge, now: now).compactMap { appserver in
            appserver.versions.map { (host: appserver.host, versions: $0) }
        }
        guard !offered.isEmpty else { return .success(nil) }
        let runnable = Set(offered.flatMap(\.versions))
        guard let chosen = wanted.newest(of: buildable.filter(runnable.contains)) else {
            let hosts = offered.map { Self.describe($0.host, $0.versions) }
            return .failure(PythonUnavailable(message: AllowedPythons.unavailable(
                wanted, basis: basis, host: "the appservers",
                offered: hosts.joined(separator: "; ") + " (this build host: " + buildable.joined(separator: ", ") + ")")))
        }
        return .success(chosen)
    }
}

extension PythonPlacement {
    /// Each live appserver (one per host, heartbeat at most `maxAge` old) with the Python minor versions its
    /// heartbeat offers; nil versions: it does not say (an older dz), and is not judged.
    static func appserverPythons(_ heartbeats: [Heartbeat], maxAge: Double, now: Timestamp)
        -> [(host: String, versions: [String]?)]
    {
        var seen = Set<String>()
        var appservers: [(host: String, versions: [String]?)] = []
        for beat in heartbeats where now - beat.updated <= maxAge && seen.insert(beat.host.rawValue).inserted
            && Placement.isAppserver(beat)
        {
            appservers.append((beat.host.rawValue,
                               beat.facts[PlacementFacts.pythons].map { $0.split(separator: ",").map(String.init) }))
        }
        return appservers
    }

    /// `app1 3.11, 3.12` (or `app1 none`), for the sentences that list what appservers offer.
    static func describe(_ host: String, _ versions: [String]) -> String {
        "\(host) " + (versions.isEmpty ? "none" : versions.joined(separator: ", "))
    }
}

/// A project's Python that no host (or no pair of build host and appserver) offers, with the sentence saying so.
public struct PythonUnavailable: Error, Sendable {
    public var message: String
}
