/// The handlers an agent knows, by task name.
public struct HandlerRegistry: Sendable {
    private var handlers: [String: any TaskHandler]

    public init(_ handlers: [any TaskHandler]) {
        self.handlers = [:]
        for handler in handlers { self.handlers[handler.name] = handler }
    }

    /// Every handler dz ships.
    public static let standard = HandlerRegistry([
        NoopHandler(), EchoHandler(), SleepHandler(), FailHandler(),
    ])

    public func handler(for name: String) -> (any TaskHandler)? { handlers[name] }

    public var names: [String] { handlers.keys.sorted() }

    /// A registry with `handler` added (or replacing one of the same name).
    public func adding(_ handler: any TaskHandler) -> HandlerRegistry {
        var copy = self
        copy.handlers[handler.name] = handler
        return copy
    }
}
