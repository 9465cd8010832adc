/// Why a bundle could not be built, each with the text that goes to the job log.
public struct BuildError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A stable word: `checkout`, `config`, `python`, `pip`, `import`, `collectstatic`, `archive`, `filesystem`.
    public var kind: String
    public var message: String
    /// Whether another attempt may succeed (a time-out, a network failure of pip).
    public var retryable: Bool

    public init(_ kind: String, _ message: String, retryable: Bool = false) {
        self.kind = kind
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(kind): \(message)" }
}
