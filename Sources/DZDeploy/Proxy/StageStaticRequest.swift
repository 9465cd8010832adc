import DZAgent
import DZBundle
import DZSpool
import DZTasks

/// A `stage_static` task's arguments, checked as `proxy_update` checks the same ones (`ProxyUpdateRequest`):
/// `project`, `bundle` (a bundle of the project), optional `sha256` (64 hex digits; else the stored manifest's),
/// `static` (the release's `{"url", "path"}` mappings, may be empty).
package struct StageStaticRequest: Sendable {
    package let project: ProjectID
    package let bundle: String
    package let sha256: String?
    package let staticMappings: [StaticMapping]

    package init(arguments args: [String: JSONValue]) throws(TaskFailure) {
        let contract: StageStaticTask.Arguments
        do { contract = try StageStaticTask.Arguments(json: args) } catch { throw .badArgs(error.message) }
        project = contract.project
        bundle = try BundleNames.bundle(contract.bundle, of: project)
        sha256 = try Self.checksum(contract.sha256)
        do throws(ProxyError) {
            staticMappings = try StaticMapping.list(contract.staticFiles)
        } catch {
            throw error.taskFailure
        }
    }

    /// A given SHA-256 in lower case, refused unless it is 64 hex digits.
    static func checksum(_ text: String?) throws(TaskFailure) -> String? {
        guard let text else { return nil }
        let lowered = text.lowercased()
        guard SHA256Digest.isHex(lowered) else { throw .badArgs("sha256 must be 64 hexadecimal digits") }
        return lowered
    }
}
