import DZSystem

/// The two nginx commands a proxy update needs, each with the host's `-p`/`-c` and a time limit:
/// `nginx -t` (check the whole configuration, sites included) and `nginx -s reload` (the master re-reads it and
/// replaces its workers gracefully; a configuration it cannot read makes the command fail and the old one keeps
/// serving).
public struct NginxController: Sendable {
    public let settings: ProxySettings

    /// The commands of the nginx that `settings` name.
    public init(settings: ProxySettings) {
        self.settings = settings
    }

    /// Runs `nginx -t` and returns nginx's message ("syntax is ok", "test is successful", any warnings); throws
    /// `ProxyError.configTest` with its message when nginx refuses the configuration.
    @discardableResult
    public func test() async throws(ProxyError) -> String {
        let outcome = try await run(["-t"], what: "testing the nginx configuration")
        guard outcome.succeeded else { throw .configTest(Self.message(outcome)) }
        return Self.message(outcome)
    }

    /// Runs `nginx -s reload` and waits (at most `settings.commandTimeout`) until every worker of the previous
    /// configuration has stopped taking connections (see `NginxWorkers`), so that the caller may stop the old
    /// upstreams; throws `ProxyError.reload` with nginx's message when it fails (nginx not running, its pid file
    /// missing, a configuration it cannot read). Returns false when old workers still took connections at the
    /// end of the wait: the reload happened (the new configuration serves new workers), but not every old worker
    /// had been told yet.
    @discardableResult
    public func reload() async throws(ProxyError) -> Bool {
        let workers = NginxWorkers(conf: settings.conf)
        let old = workers.accepting()
        let outcome = try await run(["-s", "reload"], what: "reloading nginx")
        guard outcome.succeeded else { throw .reload(Self.message(outcome)) }
        return await workers.waitUntilRetired(old, timeout: settings.commandTimeout)
    }

    private func run(_ arguments: [String], what: String) async throws(ProxyError) -> Subprocess.Outcome {
        let command = settings.nginxCommand + arguments
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(command, timeout: settings.commandTimeout, killGrace: 2,
                                               outputLimit: 64 << 10)
        } catch Subprocess.Failure.notFound(let program) {
            throw .nginxNotFound(program)
        } catch {
            throw .nginxFailed("\(error)")
        }
        switch outcome.ending {
        case .timedOut: throw .timedOut(command: command.joined(separator: " "), seconds: settings.commandTimeout)
        case .cancelled: throw .cancelled(what)
        case .exited, .signalled: return outcome
        }
    }

    /// nginx's standard error (where it writes everything), trimmed, or how it ended when it wrote nothing.
    static func message(_ outcome: Subprocess.Outcome) -> String {
        var text = Substring(outcome.tail(20))
        while text.last?.isWhitespace == true { text = text.dropLast() }
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        return text.isEmpty ? "nginx ended with \(outcome.ending)" : String(text)
    }
}
