import DZClient
import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// A command on any host writes only requests into the spool's jobs queue.
@Suite struct RequestSubmitterTests {
    func waiting(_ scratch: Scratch, _ id: String) throws -> TaskFile {
        let path = scratch.spool.path(.jobs, .new) + "/" + id + ".json"
        return try TaskFile(parsing: [UInt8](try #require(FileManager.default.contents(atPath: path))), stem: id)
    }

    @Test func aJobIsSubmittedOnBehalfOfTheUserAndHost() throws {
        let scratch = try Scratch()
        let requests = RequestSubmitter(spool: scratch.spool, environment: ["USER": "alice"])
        let id = try requests.submit("selftest", project: "shop", params: ["slow": .string("bundle:1")])
        let request = try JobRequest(try waiting(scratch, id))
        #expect(request == .submit(id: id, kind: "selftest", project: "shop", params: ["slow": .string("bundle:1")],
                                   issuedBy: "alice@clienthost"))
        #expect(throws: ClientError.self) { try requests.submit("selftest", project: nil, params: ["timeout_s": .string("nan")]) }
    }

    @Test func aConfigChangeCarriesItsValuesOnlyInAPrivateRequestFile() throws {
        let scratch = try Scratch()
        let requests = RequestSubmitter(spool: scratch.spool, environment: ["USER": "alice"])
        let id = try requests.configure(project: "shop", set: ["API_TOKEN": "t0k3n"], unset: ["OLD"], restart: true)
        let file = try waiting(scratch, id)
        #expect(try JobRequest(file) == .configure(id: id, project: "shop", change: ConfigChange(
            set: ["API_TOKEN": "t0k3n"], unset: ["OLD"], restart: true), issuedBy: "alice@clienthost"))
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.spool.path(.jobs, .new) + "/" + id + ".json")[
            .posixPermissions] as? Int
        #expect(mode.map { $0 & 0o007 } == 0, "others cannot read it")
        let audit = try FileManager.default.subpathsOfDirectory(atPath: scratch.spool.logPath).compactMap {
            FileManager.default.contents(atPath: scratch.spool.logPath + "/" + $0)
        }.map { String(decoding: $0, as: UTF8.self) }.joined()
        #expect(audit.contains(id) && !audit.contains("t0k3n"), "dropped, and no value in the audit line")
        #expect(throws: ClientError.usage("environment variable names are [A-Z_][A-Z0-9_]*, not \"bad name\"")) {
            try requests.configure(project: "shop", set: ["bad name": "x"], unset: [], restart: true)
        }
    }

    @Test func aCancelLeavesATombstoneAndARequest() throws {
        let scratch = try Scratch()
        let requests = RequestSubmitter(spool: scratch.spool, environment: [:])
        try requests.cancel("J1", reason: "enough")
        #expect(FileManager.default.fileExists(atPath: scratch.spool.root + "/cancel/J1"))
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.spool.path(.jobs, .new))
        let request = try JobRequest(try waiting(scratch, String(try #require(names.first).dropLast(5))))
        #expect(request == .cancel(job: "J1", reason: "enough"))
    }
}
