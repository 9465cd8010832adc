import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// Where the zoomdb is, and who may open it how.
@Suite struct ZoomDBLocationTests {
    let id = "0123456789abcdef0123456789abcdef"

    @Test func theDefaultIsTheHostsStateDirectoryNamedForTheSpool() {
        let systemd = ZoomDBLocation.resolve(explicit: nil, spoolID: id,
                                             environment: ["STATE_DIRECTORY": "/var/lib/dz:/var/lib/other"], isRoot: false)
        #expect(systemd == ZoomDBLocation(path: "/var/lib/dz/zoomdb/\(id).sqlite3", source: .standard))
        #expect(ZoomDBLocation.resolve(explicit: nil, spoolID: id, environment: [:], isRoot: true)?.path
                == "/var/lib/dz/zoomdb/\(id).sqlite3")
        #expect(ZoomDBLocation.resolve(explicit: nil, spoolID: id, environment: ["XDG_STATE_HOME": "/home/a/.st",
                                                                                   "HOME": "/home/a"], isRoot: false)?.path
                == "/home/a/.st/dz/zoomdb/\(id).sqlite3")
        #expect(ZoomDBLocation.resolve(explicit: nil, spoolID: id, environment: ["HOME": "/home/a"], isRoot: false)?.path
                == "/home/a/.local/state/dz/zoomdb/\(id).sqlite3")
        #expect(ZoomDBLocation.resolve(explicit: nil, spoolID: id, environment: [:], isRoot: false) == nil,
                "no home, no state directory: no default")
        #expect(ZoomDBLocation.resolve(explicit: nil, spoolID: nil, environment: [:], isRoot: true) == nil,
                "no spool id yet: no default")
    }

    @Test func theOptionThenTheEnvironmentNameItFirst() {
        let both = ZoomDBLocation.resolve(explicit: "/a.sqlite3", spoolID: id, environment: ["DZ_DB": "/b.sqlite3"],
                                          isRoot: true)
        #expect(both == ZoomDBLocation(path: "/a.sqlite3", source: .option))
        let environment = ZoomDBLocation.resolve(explicit: nil, spoolID: id, environment: ["DZ_DB": "/b.sqlite3"],
                                                 isRoot: true)
        #expect(environment == ZoomDBLocation(path: "/b.sqlite3", source: .environment))
        #expect(ZoomDBLocation.legacyPath(spoolRoot: "/srv/spool") == "/srv/spool/zoomdb/zoomdb.sqlite3")
    }

    @Test func aReadOnlyOpenCreatesNothingAndLeavesTheWritersLogInPlace() throws {
        let path = ZoomDBTests().temporaryPath()
        defer { ZoomDBTests().cleanup(path) }
        #expect(throws: ZoomDBError.missing(path)) { try ZoomDB(readOnlyAt: path) }
        #expect(!FileSystem.exists(path), "a reader made no file")

        let writer = try ZoomDB(path: path)
        try writer.insert(JobRecord(id: "J1", kind: "selftest", project: nil, params: [:], issuedBy: nil, issuedAt: .now()))
        #expect(FileSystem.exists(path + "-wal") && FileSystem.exists(path + "-shm"))
        do {
            let reader = try ZoomDB(readOnlyAt: path)
            #expect(try reader.job("J1")?.kind == "selftest")
            #expect(throws: SQLiteError.self) {
                try reader.insert(JobRecord(id: "J2", kind: "x", project: nil, params: [:], issuedBy: nil, issuedAt: .now()))
            }
        }
        // The reader is closed: the writer's log and shared memory are still there, and the writer goes on.
        #expect(FileSystem.exists(path + "-wal") && FileSystem.exists(path + "-shm"))
        try writer.insert(JobRecord(id: "J3", kind: "selftest", project: nil, params: [:], issuedBy: nil, issuedAt: .now()))
        #expect(try ZoomDB(readOnlyAt: path).job("J3") != nil)
    }

    @Test func aZoomDBKeptInTheSpoolIsMovedOnceAndSetAside() throws {
        let base = ZoomDBTests().temporaryPath()
        let directory = String(base.dropLast("/zoomdb/zoomdb.sqlite3".count))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let legacy = directory + "/spool/zoomdb/zoomdb.sqlite3"
        do {
            let old = try ZoomDB(path: legacy)
            for id in ["J1", "J2"] {
                try old.insert(JobRecord(id: id, kind: "selftest", project: "p", params: [:], issuedBy: nil, issuedAt: .now()))
            }
            _ = try old.changeEnvironment(of: "p", set: ["A": "1"], unset: [])
        }
        let target = directory + "/state/zoomdb/spool-id.sqlite3"
        let moved = try #require(try ZoomDB.moveLegacy(from: legacy, to: target))
        #expect(moved.jobs == 2)
        #expect(moved.setAside == directory + "/spool/zoomdb.moved")
        #expect(!FileSystem.exists(directory + "/spool/zoomdb"), "nothing left where commands used to open it")
        #expect(FileSystem.exists(moved.setAside + "/zoomdb.sqlite3"))
        let db = try ZoomDB(path: target)
        #expect(try db.jobs().map(\.id).sorted() == ["J1", "J2"])
        #expect(try db.environment(of: "p") == ["A": "1"])
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ZoomDB.moveLegacy(from: legacy, to: target) == nil, "moved once")
    }
}
