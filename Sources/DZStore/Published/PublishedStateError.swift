/// A file of the published state that does not read as what it should be.
public struct PublishedStateError: Error, Equatable, CustomStringConvertible {
    public let what: String
    public let reason: String

    public init(_ what: String, _ reason: String) {
        self.what = what
        self.reason = reason
    }

    public var description: String { "\(what): \(reason)" }
}
