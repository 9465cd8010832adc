import DZClient
import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// `dz status` from the spool alone.
@Suite struct StatusReportTests {
    @Test func withoutASpoolTheReportIsUnavailable() throws {
        let spool = Spool(root: NSTemporaryDirectory() + "dz-no-spool-" + UUID().uuidString)
        #expect(throws: ClientError.self) { try StatusReport(spool: spool) }
    }

    @Test func theJobsAndTheCoordinatorComeFromThePublishedStateAndTheLease() throws {
        let scratch = try Scratch()
        let bare = try StatusReport(spool: scratch.spool)
        #expect(bare.text.contains("jobs: nothing published") && bare.text.contains("coordinator: none holds"))
        #expect(bare.jsonObject["jobs"] == .null)

        let db = try scratch.zoomdb()
        try db.insert(JobRecord(id: "J1", kind: "deploy", project: "shop", params: [:], issuedBy: nil, issuedAt: .now()))
        try scratch.spool.publish(JSONValue.object(try SummaryDocument(db: db).jsonObject).serialized(), directory: "",
                                  name: SummaryDocument.fileName)
        let lease = try CoordinatorLease.acquire(spool: scratch.spool, database: "/var/lib/dz/zoomdb/x.sqlite3")
        defer { lease.release() }
        let report = try StatusReport(spool: scratch.spool)
        #expect(report.text.contains("jobs: 1 running, 0 succeeded, 0 failed, 0 cancelled"), "\(report.text)")
        #expect(report.text.contains("  J1 deploy shop running for"), "\(report.text)")
        #expect(report.text.contains("coordinator: clienthost pid \(Host.pid), zoomdb /var/lib/dz/zoomdb/x.sqlite3"),
                "\(report.text)")
        #expect(report.jsonObject["jobs"]?["running"] == .int(1))
        #expect(report.jsonObject["coordinator"]?["db"] == .string("/var/lib/dz/zoomdb/x.sqlite3"))
    }

    @Test func aFileWaitingOutSettleSaysWhy() throws {
        let scratch = try Scratch()
        // Half a copy (it does not parse yet) beside a whole task: only the first is named, with the reason.
        let new = scratch.spool.path(try QueueName("build"), .new)
        try Array(#"{"task": "no"#.utf8).write(to: new + "/half-copied.json")
        try Array(#"{"task": "noop"}"#.utf8).write(to: new + "/whole-1.json")
        let report = try StatusReport(spool: scratch.spool)
        let line = report.text.split(separator: "\n").first { $0.hasPrefix("build/new/half-copied.json") }
        #expect(line?.contains("waiting, as it does not parse yet (") == true, "\(report.text)")
        #expect(line?.contains("--settle old") == true && line?.contains("failed/") == true)
        #expect(!report.text.contains("whole-1.json"))
        let build = report.jsonObject["queues"]?.arrayValue?.first { $0["queue"] == .string("build") }
        #expect(build?["unsettled"]?.arrayValue?.count == 1)
        #expect(build?["waiting"] == .int(2))
    }
}

private extension Array where Element == UInt8 {
    func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(self)) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
