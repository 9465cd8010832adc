import DZAgent
import DZSpool

/// A `proxy_update` task's arguments, every one checked before anything happens.
///
/// `project`, `bundle` (a bundle of the project), optional `sha256` (64 hex digits: the archive's; else the
/// stored manifest's), `hostnames` (at least one: an array of names or one comma-separated string),
/// `upstreams` (a non-empty array of `{"address", "port"}`), `static` (an array of `{"url", "path"}`, may be
/// empty or absent) and optional `client_max_body_size` (`20m` by default).
struct ProxyUpdateRequest: Sendable {
    let project: ProjectID
    let bundle: String
    let sha256: String?
    let hostnames: [Hostname]
    let upstreams: [UpstreamServer]
    let staticMappings: [StaticMapping]
    let clientMaxBodySize: BodySizeLimit

    init(_ context: TaskContext) throws(TaskFailure) {
        project = try context.project()
        bundle = try BundleNames.bundle(try context.string("bundle"), of: project)
        if let text = try context.optionalString("sha256") {
            let lowered = text.lowercased()
            guard SHA256Digest.isHex(lowered) else { throw .badArgs("sha256 must be 64 hexadecimal digits") }
            sha256 = lowered
        } else {
            sha256 = nil
        }
        do {
            hostnames = try Hostname.list(context.args["hostnames"])
        } catch {
            throw .badArgs("argument \"hostnames\": \(error.message)")
        }
        guard !hostnames.isEmpty else { throw .badArgs("argument \"hostnames\": needs at least one host name") }
        do throws(ProxyError) {
            upstreams = try UpstreamServer.list(context.args["upstreams"])
            staticMappings = try StaticMapping.list(context.args["static"])
            clientMaxBodySize = try BodySizeLimit.argument(context.args["client_max_body_size"])
        } catch {
            throw error.taskFailure
        }
    }
}
