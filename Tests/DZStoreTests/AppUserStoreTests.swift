import DZSpool
@testable import DZStore
import DZSystem
import Foundation
import Testing

/// The projects' unix users as the zoomdb allocates them: once per project, never shared, never cut short.
@Suite struct AppUserStoreTests {
    func withDB(_ body: (ZoomDB) throws -> Void) throws {
        var template = Array("/tmp/dz-db-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(try ZoomDB(path: dir + "/zoomdb.sqlite3"))
    }

    @Test func aProjectsUserIsAllocatedOnceAndKept() throws {
        try withDB { db in
            #expect(try db.appUser(of: "hello") == nil)
            let first = try db.allocateAppUser(for: "hello")
            #expect(first.name == "dz_hello")
            #expect(AppUserRecord.uidRange.contains(first.uid))
            #expect(try db.allocateAppUser(for: "hello") == first, "asked again, the same user")
            #expect(try db.appUser(of: "hello") == first)
            #expect(try db.project(owningAppUser: "dz_hello") == "hello")
        }
    }

    @Test func thirtyCharacterProjectIdsThatShareAPrefixGetDistinctUsersWithoutTruncation() throws {
        try withDB { db in
            // The pair of ids whose truncated names collided under the old rule share their first 22 characters.
            let a = try db.allocateAppUser(for: "abcdefghijklmnopqrstuv_attack")
            let b = try db.allocateAppUser(for: "abcdefghijklmnopqrstuv_victim1")
            let c = try db.allocateAppUser(for: "abcdefghijklmnopqrstuv_victim2")
            #expect(a.name == "dz_abcdefghijklmnopqrstuv_attack", "29 characters still fit: dz_ and the id")
            #expect(b.name == "dz\(b.uid)" && c.name == "dz\(c.uid)", "30 characters: named by the uid")
            #expect(Set([a.name, b.name, c.name]).count == 3)
            #expect(Set([a.uid, b.uid, c.uid]).count == 3)
            #expect([a, b, c].allSatisfy { $0.name.utf8.count <= 32 })
        }
    }

    @Test func uidsNeverRepeatEvenWhenPreferredUidsCollide() throws {
        try withDB { db in
            let range: ClosedRange<UInt32> = 70000...70004
            var seen = Set<UInt32>()
            for index in 0..<5 { seen.insert(try db.allocateAppUser(for: "p\(index)", range: range).uid) }
            #expect(seen == Set(range), "every uid of the range once")
            #expect(throws: AppUserError.exhausted(range)) { try db.allocateAppUser(for: "p5", range: range) }
            #expect(try db.appUser(of: "p5") == nil)
        }
    }

    @Test func aProjectGetsTheSameUidFromTwoZoomdbs() throws {
        var uids: [UInt32] = []
        for _ in 0..<2 { try withDB { db in uids.append(try db.allocateAppUser(for: "shop").uid) } }
        #expect(uids[0] == uids[1], "a shared test host sees one uid per project, whatever zoomdb asked")
    }

    @Test func limitsRoundTripAndClear() throws {
        try withDB { db in
            #expect(try db.appLimits(of: "hello") == [:])
            try db.setAppLimits(of: "hello", ["memory": .int(1 << 28), "processes": .int(64)])
            #expect(try db.appLimits(of: "hello") == ["memory": .int(1 << 28), "processes": .int(64)])
            try db.setAppLimits(of: "hello", [:])
            #expect(try db.appLimits(of: "hello") == [:])
        }
    }
}
