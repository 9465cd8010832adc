import DZJobs
import DZSpool
import Foundation
@preconcurrency import Glibc

/// Submits a job through the spool's `jobs` queue, on behalf of the user running the command.
enum JobSubmission {
    static func submit(_ kind: String, project: String?, params: [String: JSONValue], spool: Spool) throws -> String {
        if let problem = JobPolicy.problem(in: params) {
            complain(problem)
            throw ExitStatus.usage
        }
        let id = JobRequest.newJobID()
        let environment = ProcessInfo.processInfo.environment
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "uid\(getuid())"
        try reportingErrors { () throws(SpoolError) in
            let request = JobRequest.submit(id: id, kind: kind, project: project, params: params,
                                            issuedBy: "\(user)@\(spool.host)")
            try spool.drop(try request.taskFile(host: spool.host), into: .jobs)
        }
        return id
    }
}
