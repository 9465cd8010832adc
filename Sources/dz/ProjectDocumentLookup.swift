import DZClient
import DZStore

extension Client {
    /// The project's published document; exits 1 with `missing` when the coordinator has published none.
    func projectDocument(_ project: String, missing: String) throws -> ProjectDocument {
        guard let document = try reportingClientErrors({ () throws(ClientError) in try state.project(project) }) else {
            complain(missing + (state.exists ? "" : " (nothing published in \(spool.root)/state yet: is a coordinator "
                                                  + "of this dz running?)"))
            throw ExitStatus.notFound
        }
        return document
    }
}
