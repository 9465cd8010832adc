import DZSpool
import DZStore
import Foundation
import Testing

/// Who owns a host name: live names (`setHostnames`) and running jobs' claims (`claimHostnames`), never two
/// projects with names that overlap.
@Suite struct HostnameClaimTests {
    func withDB(_ body: (ZoomDB) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "dz-claims-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(try ZoomDB(path: directory + "/zoomdb.sqlite3"))
    }

    func running(_ db: ZoomDB, _ id: String, _ project: String) throws {
        var job = JobRecord(id: id, kind: "hostnames", project: project, params: [:], issuedBy: nil, issuedAt: .now())
        job.state = .running
        try db.insert(job)
    }

    func conflict(_ body: () throws -> Void) -> HostnameConflict? {
        do { try body() } catch let conflict as HostnameConflict { return conflict } catch {
            Issue.record("not a conflict: \(error)")
        }
        return nil
    }

    @Test func ofTwoProjectsClaimingOneNameOnlyTheFirstGetsIt() throws {
        try withDB { db in
            try running(db, "J1", "shop")
            try running(db, "J2", "blog")
            try db.claimHostnames(["new.example.com", "shop.example.com"], project: "shop", job: "J1")
            let refused = conflict { try db.claimHostnames(["new.example.com"], project: "blog", job: "J2") }
            #expect(refused == HostnameConflict(hostname: "new.example.com", other: "new.example.com", owner: "shop",
                                                job: "J1"))
            #expect(refused?.description == "host name new.example.com is taken: it is being put live by job J1 of "
                    + "project shop")
            #expect(try db.hostnameClaims(of: "J2").isEmpty, "nothing claimed")
            #expect(try db.hostnameOwners(except: "blog") == ["new.example.com": "shop", "shop.example.com": "shop"])
        }
    }

    @Test func aNameUnderAnotherProjectsWildcardAndAWildcardOverAnotherProjectsNameAreRefused() throws {
        try withDB { db in
            try db.setHostnames(of: "shop", ["*.shop.example.com", "shop.example.com"])
            try db.setHostnames(of: "blog", ["blog.example.com"])
            try running(db, "J3", "evil")
            let under = conflict { try db.claimHostnames(["admin.shop.example.com"], project: "evil", job: "J3") }
            #expect(under?.other == "*.shop.example.com" && under?.owner == "shop")
            #expect(under?.description.contains("*.shop.example.com belongs to project shop: remove it there first")
                    == true)
            let over = conflict { try db.claimHostnames(["*.example.com"], project: "evil", job: "J3") }
            #expect(over?.owner == "shop" || over?.owner == "blog")
            let deeper = conflict { try db.claimHostnames(["*.a.shop.example.com"], project: "evil", job: "J3") }
            #expect(deeper?.other == "*.shop.example.com")
            try db.claimHostnames(["example.com", "www.example.com"], project: "evil", job: "J3")
            #expect(try db.hostnameClaims(of: "J3") == ["example.com", "www.example.com"], "neighbours are fine")
            // The owner itself may add names under its own wildcard.
            try running(db, "J4", "shop")
            try db.claimHostnames(["admin.shop.example.com"], project: "shop", job: "J4")
        }
    }

    @Test func claimsOfEndedJobsDoNotCountAndAreReleased() throws {
        try withDB { db in
            try running(db, "J1", "shop")
            try db.claimHostnames(["new.example.com"], project: "shop", job: "J1")
            var ended = try #require(try db.job("J1"))
            ended.state = .failed
            try db.update(ended)
            try running(db, "J2", "blog")
            try db.claimHostnames(["new.example.com"], project: "blog", job: "J2")
            #expect(try db.hostnameClaims(of: "J2") == ["new.example.com"], "the dead claim is taken over")
            #expect(try db.hostnameClaims(of: "J1").isEmpty)
            try db.claimHostnames(["other.example.com"], project: "blog", job: "J2")
            #expect(try db.hostnameClaims(of: "J2") == ["other.example.com"], "a claim again replaces the job's own")
            try db.releaseHostnameClaims(of: "J2")
            #expect(try db.hostnameClaims(of: "J2").isEmpty)
            #expect(try db.hostnameOwners(except: "shop").isEmpty)
        }
    }

    @Test func aNameAnotherProjectHasLiveIsNeverRecordedTwice() throws {
        try withDB { db in
            try db.setHostnames(of: "shop", ["shop.example.com"])
            let refused = conflict { try db.setHostnames(of: "blog", ["blog.example.com", "shop.example.com"]) }
            #expect(refused?.owner == "shop")
            #expect(try db.hostnames(of: "blog").isEmpty, "all or nothing")
            #expect(try db.hostnames(of: "shop") == ["shop.example.com"])
        }
    }

    @Test func invalidNamesCannotBeClaimed() throws {
        try withDB { db in
            try running(db, "J1", "shop")
            #expect(throws: BadInput.self) { try db.claimHostnames(["bad name"], project: "shop", job: "J1") }
        }
    }
}
