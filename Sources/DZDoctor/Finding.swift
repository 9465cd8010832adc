/// What one check of `dz doctor` found.
public struct Finding: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Comparable, CaseIterable {
        case ok, warning, problem

        private var rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    /// The check's name (`filesystem`, `nfs-options`, `clock`, `host-id`, `sync`, `permissions`, `zoomdb`, ...).
    public var check: String
    public var severity: Severity
    /// What was found and, unless all is well, what to do about it.
    public var message: String

    public init(_ check: String, _ severity: Severity, _ message: String) {
        self.check = check
        self.severity = severity
        self.message = message
    }

    /// `<severity> <check>: <message>`, padded for a column.
    public var description: String {
        let label = severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
        return "\(label)\(check): \(message)"
    }
}
