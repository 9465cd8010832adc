import DZAgent
import DZBuild
import DZSpool
import DZSystem
import Foundation

/// The whole environment of an app's processes (gunicorn and its hooks), written as `KEY=VALUE` lines to
/// `<instancesRoot>/<project>/<instance>.env` (mode 0600, root's: the app never sees the file, only its own
/// process environment) and read back, as root, at every launch: nothing of the agent's own environment reaches
/// the app.
///
/// It holds `DJANGO_SETTINGS_MODULE=dz_settings`, `DZ_DATABASE_URL`, `DZ_HOSTNAMES`, `DZ_SECRET_KEY`,
/// `DZ_MEDIA_ROOT` (the app's `MediaDirectory`),
/// `LANG=C.UTF-8`, `PATH=<bundle>/venv/bin:/usr/local/bin:/usr/bin:/bin`, `PYTHONUNBUFFERED=1` (Python buffers
/// stdout when it is not a terminal: without it, what the app prints reaches its log only when a worker exits, and
/// `dz logs` shows nothing while it runs), and the deploy's own `environment` entries. Those may not set `DZ_*`, `DJANGO_SETTINGS_MODULE` or `PATH`, nor anything the dynamic loader or the
/// C library reads (`LD_*`, `GCONV_PATH`, `MALLOC_*`, ...): the environment passes through root's `bwrap` and
/// `setpriv` on its way to the app. The same rule filters the file when it is read, since the app could rewrite it.
public struct RuntimeEnvironment: Sendable, Equatable {
    public static let fileName = "runtime.env"

    public private(set) var variables: [String: String]

    public init(variables: [String: String]) { self.variables = variables }

    /// The environment of a deploy.
    package init(bundleDirectory: String, database: AppDatabase?, hostnames: [Hostname], secretKey: String?,
                 mediaRoot: String? = nil, extra: [String: String])
    {
        variables = extra
        variables["DJANGO_SETTINGS_MODULE"] = SettingsOverride.moduleName
        variables["LANG"] = variables["LANG"] ?? "C.UTF-8"
        variables["PATH"] = bundleDirectory + "/venv/bin:/usr/local/bin:/usr/bin:/bin"
        variables["PYTHONUNBUFFERED"] = "1"
        variables["DZ_HOSTNAMES"] = hostnames.map(\.rawValue).joined(separator: ",")
        if let database { variables["DZ_DATABASE_URL"] = database.url }
        if let secretKey, !secretKey.isEmpty { variables["DZ_SECRET_KEY"] = secretKey }
        if let mediaRoot { variables["DZ_MEDIA_ROOT"] = mediaRoot }
    }

    /// The checked extra environment of a deploy (the contract has made it strings): keys `[A-Z_][A-Z0-9_]*`,
    /// none of them reserved, values without newlines or NUL.
    public static func extra(_ values: [String: String]) throws(TaskFailure) -> [String: String] {
        for (key, text) in values {
            guard isWellFormedKey(key) else {
                throw .badArgs("environment variable names are [A-Z_][A-Z0-9_]*, not \"\(String(key.prefix(60)))\"")
            }
            guard !isReserved(key), isSafeForLoader(key) else {
                throw .badArgs("environment variable \(key) is set by dz or not allowed")
            }
            guard !text.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) else {
                throw .badArgs("environment variable \(key) contains a newline or NUL")
            }
        }
        return values
    }

    /// `KEY=VALUE` lines in key order.
    var text: String {
        variables.keys.sorted().map { $0 + "=" + variables[$0]! + "\n" }.joined()
    }

    /// Parses `KEY=VALUE` lines, keeping only well-formed keys that are safe to pass through root's programs.
    init(parsing bytes: [UInt8]) {
        var variables: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            guard Self.isWellFormedKey(key), Self.isSafeForLoader(key) else { continue }
            variables[key] = String(line[line.index(after: equals)...])
        }
        self.variables = variables
    }

    /// The values to mask in anything shown: the secret key, the database password, secret-looking entries of
    /// at least 4 characters, and every other value of the app's own configuration (`dz config`) of at least
    /// `configValueMinimum` characters, since a name need not look secret to hold one (`SENTRY_DSN`,
    /// `DATABASE_URL`). Shorter plain values (`1`, `true`, `en-us`) stay readable: masking them would garble
    /// every traceback they occur in. dz's own entries (`LANG`, `PATH`, `DZ_HOSTNAMES`, ...) are not secrets.
    package var secrets: [String] {
        var found = Redaction.secrets(in: variables.mapValues { .string($0) })
        for (key, value) in variables where !Self.isReserved(key) && !Self.platformKeys.contains(key)
            && value.count >= Self.configValueMinimum && !found.contains(value)
        {
            found.append(value)
        }
        if let url = variables["DZ_DATABASE_URL"], let password = Self.password(inURL: url), password.count >= 4 {
            found.append(password)
            if let decoded = password.removingPercentEncoding, decoded.count >= 4 { found.append(decoded) }
            found.append(url)
        }
        return found.sorted { $0.count > $1.count }
    }

    /// Writes the instance's file, `<instancesRoot>/<project>/<instance>.env` (root's, mode 0600), beside its
    /// record: where the app cannot write, so what root passes to a relaunched master is what the deploy gave.
    package func write(to records: InstanceDirectory, project: String, instance: String) throws(DeployError) {
        try records.prepare(project: project)
        let directory = records.root + "/" + project
        do {
            try DirectoryHandle.open(directory).replaceFile(instance + ".env", bytes: Array(text.utf8), mode: 0o600,
                                                           owner: nil)
        } catch {
            throw .filesystem("write", path: directory + "/" + instance + ".env", error)
        }
    }

    /// The environment of `record`'s instance: its file beside the record; for an instance an older dz started,
    /// the bundle's `dz/runtime.env` in the app's directory, reached without following a link, only a regular file
    /// of the app's user, at most 1 MiB, and filtered as it is parsed.
    package static func read(for record: InstanceRecord, records: InstanceDirectory) throws(DeployError) -> RuntimeEnvironment {
        let path = records.root + "/" + record.project + "/" + record.instance + ".env"
        let outcome: FileIO.ReadOutcome
        do { outcome = try FileIO.read(path, limit: 1 << 20) } catch .noSuchFileOrDirectory {
            return try read(appDirectory: record.appDirectory, bundle: record.bundle, user: record.appUser)
        } catch {
            throw .filesystem("read", path: path, error)
        }
        guard case .contents(let bytes, _) = outcome else { throw .filesystem("read", path: path, .invalidArgument) }
        return RuntimeEnvironment(parsing: bytes)
    }

    /// Reads the file an older dz wrote into the bundle (`dz/runtime.env`, the app's): a regular file of the app's
    /// user, reached without following any link.
    static func read(appDirectory: String, bundle: String, user: AppUser) throws(DeployError) -> RuntimeEnvironment {
        let path = appDirectory + "/" + bundle + "/dz/" + fileName
        do {
            let dz = try DirectoryHandle.open(appDirectory).directory(components: [bundle, "dz"])
            return RuntimeEnvironment(parsing: try dz.read(fileName, limit: 1 << 20, ownedBy: user.uid))
        } catch {
            throw .filesystem("read", path: path, error)
        }
    }

    /// Entries dz sets besides the reserved ones, whose values are no secret.
    static let platformKeys: Set<String> = ["LANG", "PYTHONUNBUFFERED"]

    /// The shortest value of a plain-looking configuration entry that is masked.
    static let configValueMinimum = 6

    /// The environment to run the app's processes with: what the file holds, with `PYTHONUNBUFFERED=1` added
    /// for an instance whose file an older dz wrote.
    var forProcess: [String: String] {
        var result = variables
        result["PYTHONUNBUFFERED"] = "1"
        return result
    }

    static func isWellFormedKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...128).contains(bytes.count), !(48...57).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    static func isReserved(_ key: String) -> Bool {
        key.hasPrefix("DZ_") || key == "DJANGO_SETTINGS_MODULE" || key == "PATH"
    }

    /// False for what glibc drops for setuid programs (`UNSECURE_ENVVARS`) and for every `LD_*`.
    static func isSafeForLoader(_ key: String) -> Bool {
        !key.hasPrefix("LD_") && !key.hasPrefix("MALLOC_") && !loaderVariables.contains(key)
    }

    private static let loaderVariables: Set<String> = [
        "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH",
        "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
    ]

    /// The password of a `scheme://user:password@host/...` URL, still percent-encoded.
    private static func password(inURL url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return nil }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return nil }
        return String(userInfo[userInfo.index(after: colon)...])
    }
}
