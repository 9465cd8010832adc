import DZSpool

/// A change of an app's environment asked through the spool (`dz config set/unset` from any host): the variables
/// to set, with their values, and those to remove. The values travel only in the request file (mode 0600 like
/// every spool file) until the coordinator has recorded them in the zoomdb; it then rewrites the request without
/// them (`scrubbed`) before the file goes to `done/`, and the config job it starts names only the variables. Never
/// a value in a job's parameters, a log line or the audit log.
public struct ConfigChange: Sendable, Equatable {
    public var set: [String: String]
    public var unset: [String]
    /// Whether the change goes live at once (a config job: a new release), or waits for the next release.
    public var restart: Bool
    /// The names that were set, once the values have been taken out of the request.
    public var scrubbedNames: [String]?

    /// The longest value (as `dz config set` reads one).
    public static let valueLimit = 64 << 10

    public init(set: [String: String], unset: [String], restart: Bool) {
        self.set = set
        self.unset = unset
        self.restart = restart
    }

    /// Whether the values were taken out of the request: it can only be retired.
    public var isScrubbed: Bool { scrubbedNames != nil }

    /// What changes, by name only: `set A, B; unset C`, for the job's parameters and the release's description.
    public var summary: String {
        var parts: [String] = []
        let setNames = scrubbedNames ?? set.keys.sorted()
        if !setNames.isEmpty { parts.append("set " + setNames.joined(separator: ", ")) }
        if !unset.isEmpty { parts.append("unset " + unset.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    /// Why the change is not well formed, or nil: no variable, a name not `[A-Z_][A-Z0-9_]*` (at most 128),
    /// a name both set and unset, a value with a newline or NUL or over 64 KiB. (Which names an app may not set
    /// at all is the deploy's rule: see `CoordinatorConfiguration.environmentCheck`.)
    public var problem: String? {
        guard !set.isEmpty || !unset.isEmpty || isScrubbed else { return "no variable to set or unset" }
        for name in set.keys.sorted() + unset where !Self.isWellFormed(name) {
            return "environment variable names are [A-Z_][A-Z0-9_]*, not \"\(String(name.prefix(60)))\""
        }
        if let both = set.keys.sorted().first(where: unset.contains) { return "\(both) is both set and unset" }
        for (name, value) in set.sorted(by: { $0.key < $1.key }) {
            if value.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) {
                return "environment variable \(name) contains a newline or NUL"
            }
            if value.utf8.count > Self.valueLimit { return "the value of \(name) is over 64 KiB" }
        }
        return nil
    }

    static func isWellFormed(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...128).contains(bytes.count), !(48...57).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// The request's arguments (with the project and who asks, added by `JobRequest`).
    var args: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "unset": .array(unset.map { .string($0) }), "restart": .bool(restart),
        ]
        if let names = scrubbedNames {
            object["set_names"] = .array(names.map { .string($0) })
            object["scrubbed"] = .bool(true)
        } else {
            object["set"] = .object(set.mapValues { .string($0) })
        }
        return object
    }

    /// Reads a change from a request's arguments.
    init(args: [String: JSONValue]) throws(BadInput) {
        var set: [String: String] = [:]
        if let values = args["set"] {
            guard case .object(let object) = values else { throw BadInput("field", "set_config's args.set must be an object") }
            for (name, value) in object {
                guard let text = value.stringValue else {
                    throw BadInput("field", "set_config's value of \(String(name.prefix(60))) must be a string")
                }
                set[name] = text
            }
        }
        let unset = try (args["unset"]?.arrayValue ?? []).map { value throws(BadInput) in
            guard let name = value.stringValue else { throw BadInput("field", "set_config's args.unset must hold names") }
            return name
        }
        self.init(set: set, unset: unset, restart: args["restart"] != .bool(false))
        if args["scrubbed"] == .bool(true) {
            scrubbedNames = (args["set_names"]?.arrayValue ?? []).compactMap(\.stringValue)
            self.set = [:]
        }
    }

    /// The same change without its values: what stays in the spool once the coordinator has recorded it.
    public var scrubbed: ConfigChange {
        var copy = self
        copy.scrubbedNames = scrubbedNames ?? set.keys.sorted()
        copy.set = [:]
        return copy
    }
}
