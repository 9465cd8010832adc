#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem
import Foundation
import DZBuild

/// Where and how an appserver runs apps.
///
/// `dz agent` builds it from its flags, each falling back to an environment variable:
///
/// | flag | variable | default |
/// |---|---|---|
/// | `--apps-root` | `DZ_APPS_ROOT` | `<data>/apps` |
/// | `--app-address` | `DZ_APP_ADDRESS` | `127.0.0.1` |
/// | `--app-ports` | `DZ_APP_PORTS` | `10000-19999` |
/// | `--isolation` | `DZ_ISOLATION` | `auto` |
/// | `--pythons` | `DZ_PYTHONS` | added to every `python3.<minor>` of `/usr/local/bin` and `/usr/bin` |
/// | `--app-memory` | `DZ_APP_MEMORY` | `1G` |
/// | `--app-processes` | `DZ_APP_PROCESSES` | `512` |
/// | `--app-cpu-weight` | `DZ_APP_CPU_WEIGHT` | `100` |
/// | `--media-group` | `DZ_MEDIA_GROUP` | `www-data` |
///
/// Instance records live in `<data>/instances` (root's, mode 0700), never below `appsRoot`: an app can write its
/// own directory, and the supervisor relaunches, as root, what a record says.
public struct AppServerSettings: Sendable, Equatable {
    /// How an app's processes are confined.
    public enum Isolation: String, Sendable, CaseIterable {
        /// bubblewrap when `bwrap` is on PATH and dz runs as root, else none.
        case auto
        /// A private mount namespace: read-only system directories, the app's own directory writable, a private
        /// /tmp, nothing else of the host's file system (not the spool, not other apps, not dz's data).
        case bubblewrap
        /// Only the switch to the app's user (when dz runs as root).
        case none
    }

    /// `<appsRoot>/<project>/`: the app's directory, owned by its user (bundles, logs, pid files, SQLite).
    public var appsRoot: String
    /// `<instancesRoot>/<project>/<instance>.json`: instance records, root's only.
    public var instancesRoot: String
    /// The address instances listen on and the proxy reaches them at.
    public var address: String
    /// The ports instances may take.
    public var ports: ClosedRange<Int>
    public var isolation: Isolation
    /// The interpreters apps may run on (see `AllowedPythons`).
    public var pythons: AllowedPythons
    /// Each app's limits unless its deploy says otherwise (see `AppLimits`, `AppCgroups`).
    public var limits: AppLimits = .defaults
    /// The control group directory apps' groups are made in, under each hierarchy's root.
    public var cgroupParent = "dz"
    /// The group of nginx's worker user on this host, given each app's media directory (see `MediaDirectory`); when
    /// the host has no such group, media directories are readable by anyone who can reach them.
    public var mediaGroup = "www-data"

    /// `<appsRoot>/.media`: root's, mode 0711; each app's media directory is `<mediaRoot>/<project>` (a project id
    /// never starts with a dot).
    public var mediaRoot: String { appsRoot + "/.media" }

    /// `<mediaRoot>/<project>`.
    public func mediaDirectory(_ project: String) -> String { mediaRoot + "/" + project }

    /// How this host enforces the limits now.
    public var cgroups: AppCgroups { AppCgroups.detect(parent: cgroupParent) }

    /// Settings with every default; relative paths are taken from the current directory.
    public init(workspace: Workspace, appsRoot: String? = nil, instancesRoot: String? = nil,
                address: String = "127.0.0.1", ports: ClosedRange<Int> = 10000...19999, isolation: Isolation = .auto)
    {
        self.appsRoot = Self.absolute(appsRoot ?? workspace.root + "/apps")
        self.instancesRoot = Self.absolute(instancesRoot ?? workspace.root + "/instances")
        self.address = address
        self.ports = ports
        self.isolation = isolation
        pythons = AllowedPythons.systemDefaults()
    }

    /// The settings from `dz agent`'s flags (nil where not given), each falling back to its environment variable;
    /// checks the address, the port range and the isolation's name.
    public static func resolve(appsRoot: String? = nil, address: String? = nil, ports: String? = nil,
                               isolation: String? = nil, pythons: String? = nil, memory: String? = nil,
                               processes: String? = nil, cpuWeight: String? = nil, mediaGroup: String? = nil,
                               workspace: Workspace,
                               environment: [String: String])
        throws(DeployError) -> AppServerSettings
    {
        func value(_ flag: String?, _ variable: String) -> String? {
            if let flag, !flag.isEmpty { return flag }
            if let fromEnvironment = environment[variable], !fromEnvironment.isEmpty { return fromEnvironment }
            return nil
        }
        var settings = AppServerSettings(workspace: workspace, appsRoot: value(appsRoot, "DZ_APPS_ROOT"))
        if let text = value(address, "DZ_APP_ADDRESS") {
            guard isNumericAddress(text) else {
                throw .badSettings("--app-address must be an IPv4 or IPv6 address, not \"\(text.prefix(60))\"")
            }
            settings.address = text
        }
        if let text = value(ports, "DZ_APP_PORTS") { settings.ports = try parsePorts(text) }
        if let text = value(isolation, "DZ_ISOLATION") {
            guard let known = Isolation(rawValue: text) else {
                throw .badSettings("--isolation must be auto, bubblewrap or none, not \"\(text.prefix(40))\"")
            }
            settings.isolation = known
        }
        do {
            settings.pythons = try AllowedPythons.offered(adding: value(pythons, "DZ_PYTHONS")
                                                          ?? value(nil, "DZ_APP_PYTHONS"))
        } catch {
            throw .badSettings(error.description)
        }
        if let group = value(mediaGroup, "DZ_MEDIA_GROUP") {
            let bytes = Array(group.utf8)
            // A POSIX portable group name: it is only looked up, but a message must be able to quote it.
            guard (1...32).contains(bytes.count), bytes[0] != UInt8(ascii: "-"),
                  bytes.allSatisfy({ (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0)
                                     || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
            else {
                throw .badSettings("--media-group must be a group name such as www-data, not \"\(group.prefix(40))\"")
            }
            settings.mediaGroup = group
        }
        settings.limits = try AppLimits.resolve(memory: value(memory, "DZ_APP_MEMORY"),
                                                processes: value(processes, "DZ_APP_PROCESSES"),
                                                cpuWeight: value(cpuWeight, "DZ_APP_CPU_WEIGHT"))
        return settings
    }

    /// What `isolation` means on this host now: `.bubblewrap` or `.none`.
    public var effectiveIsolation: Isolation {
        switch isolation {
        case .auto: (getuid() == 0 && Subprocess.locate("bwrap") != nil) ? .bubblewrap : .none
        case .bubblewrap, .none: isolation
        }
    }

    /// `<appsRoot>/<project>`.
    public func appDirectory(_ project: String) -> String { appsRoot + "/" + project }

    /// `LOW-HIGH` (or one port), within 1-65535.
    static func parsePorts(_ text: String) throws(DeployError) -> ClosedRange<Int> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let low = Int(parts[0]), let high = Int(parts.last!),
              1 <= low, low <= high, high <= 65535
        else {
            throw .badSettings("--app-ports must be a range such as 10000-19999, not \"\(text.prefix(40))\"")
        }
        return low...high
    }

    /// Whether `text` is a numeric IPv4 or IPv6 address.
    ///
    /// The corresponding C function is `inet_pton`.
    static func isNumericAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

    private static func absolute(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if path.hasPrefix("/") { return path }
        let current = FileManager.default.currentDirectoryPath
        return (current == "/" ? "" : current) + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
