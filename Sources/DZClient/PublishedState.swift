import DZSpool
import DZStore
import DZSystem

/// What the coordinator publishes in the spool (`state/`), read by a command on any host: the job, project and
/// summary documents (see `StatePublisher` in DZJobs), and who the coordinator is. Nothing here opens the zoomdb.
public struct PublishedState: Sendable {
    public let spool: Spool
    /// How long a document that does not parse is read again before it is an error, in seconds. The coordinator
    /// replaces a document by one rename, but another host's view of the spool may show the new file's bytes cut
    /// at the old one's size until its cached attributes expire (a FUSE view's `attr_timeout` is a second by
    /// default).
    public var tornReadPatience = 2.5

    public init(spool: Spool) { self.spool = spool }

    /// The job's document, or nil while there is none (not taken in yet, or no such job).
    public func job(_ id: String) throws(ClientError) -> JobDocument? {
        guard TaskID.isValid(id) else { throw .usage("invalid job id \"\(String(id.prefix(80)))\"") }
        return try document(JobDocument.directory, JobDocument.fileName(id)).map { value throws(ClientError) in
            let document: JobDocument
            do { document = try JobDocument(json: value) } catch { throw .unavailable("state/jobs/\(id).json: \(error)") }
            // A file copied from elsewhere (another spool, another job's) is not this job's state.
            guard document.job.id == id else {
                throw .unavailable("state/jobs/\(id).json is the document of job \"\(String(document.job.id.prefix(80)))\"")
            }
            return document
        }
    }

    /// The newest jobs first (job ids sort by submission time), those in `state` only when given.
    public func jobs(state: JobRecord.State? = nil, limit: Int) -> [JobDocument] {
        var found: [JobDocument] = []
        for name in spool.publishedNames(directory: JobDocument.directory).filter({ $0.hasSuffix(".json") })
            .sorted(by: >)
        {
            guard found.count < limit else { break }
            // A listing skips what does not parse rather than wait for it (each would cost `tornReadPatience`).
            guard let value = try? document(JobDocument.directory, name, patience: 0),
                  let job = try? JobDocument(json: value),
                  JobDocument.fileName(job.job.id) == name, state == nil || job.job.state == state else { continue }
            found.append(job)
        }
        return found.sorted { ($0.job.issuedAt, $0.job.id) > ($1.job.issuedAt, $1.job.id) }
    }

    /// The project's document, or nil when the coordinator has published none (an unknown project).
    public func project(_ id: String) throws(ClientError) -> ProjectDocument? {
        guard ProjectID.isValid(id) else {
            throw .usage("invalid project id \"\(String(id.prefix(40)))\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        return try document(ProjectDocument.directory, ProjectDocument.fileName(id)).map { value throws(ClientError) in
            let document: ProjectDocument
            do { document = try ProjectDocument(json: value) } catch {
                throw .unavailable("state/projects/\(id).json: \(error)")
            }
            guard document.project == id else {
                throw .unavailable("state/projects/\(id).json is the document of project \"\(String(document.project.prefix(40)))\"")
            }
            return document
        }
    }

    /// The summary, or nil when no coordinator of this dz has run on the spool.
    public func summary() -> SummaryDocument? {
        guard let value = try? document("", SummaryDocument.fileName) else { return nil }
        return try? SummaryDocument(json: value)
    }

    /// The coordinator that holds the spool's lease, and how long ago it renewed it; nil when none does.
    public func coordinator(now: Timestamp = .now()) -> (holder: CoordinatorLease.Holder, age: Double)? {
        let path = spool.root + "/coordinator.lease"
        guard let holder = CoordinatorLease.read(path), let status = try? FileSystem.status(path) else { return nil }
        return (holder, now - status.modified)
    }

    /// Whether anything was ever published in this spool.
    public var exists: Bool { spool.hasPublishedState }

    private func document(_ directory: String, _ name: String, patience: Double? = nil) throws(ClientError)
        -> JSONValue?
    {
        let deadline = Timestamp.now() + (patience ?? tornReadPatience)
        while true {
            guard let bytes = spool.published(directory: directory, name: name) else { return nil }
            do { return try JSONValue.parse(bytes) } catch {
                guard Timestamp.now() < deadline else {
                    throw .unavailable("state/\(directory.isEmpty ? "" : directory + "/")\(name) does not parse: \(error)")
                }
            }
            ThreadPause.sleep(seconds: 0.1)
        }
    }
}
