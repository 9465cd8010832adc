import DZSpool

/// One guess about how a project must be configured: a zoombuild.cfg field, a value, whether it is the primary
/// guess for that field, and the basis (the repository file it came from, relative to the repository root).
public struct ConfigGuess: Sendable, Equatable, Hashable {
    public var field: String
    public var value: String
    public var isPrimary: Bool
    public var basis: String

    public init(field: String, value: String, isPrimary: Bool, basis: String) {
        self.field = field
        self.value = value
        self.isPrimary = isPrimary
        self.basis = basis
    }

    public var jsonValue: JSONValue {
        .object(["field": .string(field), "value": .string(value), "is_primary": .bool(isPrimary),
                 "basis": .string(basis)])
    }

    public init?(json: JSONValue) {
        guard let object = json.objectValue, let field = object["field"]?.stringValue,
              let value = object["value"]?.stringValue else { return nil }
        self.init(field: field, value: value, isPrimary: object["is_primary"] == .bool(true),
                  basis: object["basis"]?.stringValue ?? "")
    }
}

/// What inspecting a checked-out repository found.
public struct Inspection: Sendable, Equatable {
    /// False for a repository with no Django project in it (a clear answer, not an error).
    public var isDjango: Bool
    /// Every guess, primary ones first within a field.
    public var guesses: [ConfigGuess]
    /// Hazards and doubts for the user: `DEBUG = True`, several package managers, a misspelled requirements file...
    public var warnings: [String]
    /// Files that could not be read or parsed (skipped), with why.
    public var skipped: [String]

    public init(isDjango: Bool, guesses: [ConfigGuess], warnings: [String], skipped: [String]) {
        self.isDjango = isDjango
        self.guesses = guesses
        self.warnings = warnings
        self.skipped = skipped
    }

    /// The primary guess for `field`.
    public func primary(_ field: String) -> String? {
        guesses.first { $0.field == field && $0.isPrimary }?.value
    }
}
