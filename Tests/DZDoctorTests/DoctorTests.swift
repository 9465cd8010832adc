import DZDoctor
import DZSpool
import DZSystem
import Foundation
import Testing

/// A scratch spool for the doctor's checks.
final class ScratchSpool {
    let directory: String
    let spool: Spool

    init(host: String = "here") throws {
        var template = Array("/tmp/dz-doctor.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Errno(rawValue: errno)
        }
        directory = String(cString: made)
        spool = Spool(root: directory + "/spool", host: try HostID(host), sync: false)
        try spool.initialize()
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// The spool's mount, as if it were of `type` with `options`, over the real mount table.
    func mounts(type: String, options: [String: String] = [:]) throws -> MountTable {
        let real = try MountTable.current()
        return MountTable(mounts: real.mounts + [MountTable.Mount(mountPoint: directory, type: type,
                                                                   source: "server:/export", options: options)])
    }

    func doctor(_ mounts: MountTable, synced: Bool? = nil, user: UserAccount? = nil, zoomdb: String? = nil) -> Doctor {
        Doctor(Doctor.Settings(spool: spool, user: user, zoomdb: zoomdb, synced: synced), mounts: mounts)
    }
}

func findings(_ all: [Finding], _ check: String) -> [Finding] { all.filter { $0.check == check } }

@Suite struct DoctorTests {
    @Test func mountinfoLinesAreReadWithTheirOptionsAndEscapes() {
        let table = MountTable(mountinfo: """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
            40 22 0:50 / /srv/dz\\040spool rw,relatime shared:30 - nfs4 files:/export/dz rw,vers=4.2,hard,lookupcache=positive,acdirmax=2
            """)
        #expect(table.mounts.count == 2)
        let nfs = table.mount(of: "/srv/dz spool/build/new")
        #expect(nfs?.type == "nfs4" && nfs?.isNFS == true)
        #expect(nfs?.options["lookupcache"] == "positive" && nfs?.options["hard"] == "")
        #expect(table.mount(of: "/srv/dzother")?.type == "ext4", "a prefix of a name is not a parent")
    }

    @Test func nfsMountedSoftWithDefaultCachesIsAProblemAndTwoWarnings() {
        let found = NFSMountOptions(["soft": "", "vers": "4.2"]).findings()
        #expect(found.filter { $0.severity == .problem }.map(\.message).contains { $0.contains("hard") })
        #expect(found.filter { $0.severity == .warning }.count == 2, "\(found)")
        let good = NFSMountOptions(["hard": "", "lookupcache": "positive", "acdirmax": "2"]).findings()
        #expect(good.allSatisfy { $0.severity == .ok }, "\(good)")
        #expect(NFSMountOptions(["actimeo": "1"]).findings().contains { $0.message == "acdirmax=1" })
    }

    @Test func spoolOnNFSIsCheckedForItsOptions() throws {
        let scratch = try ScratchSpool()
        let doctor = scratch.doctor(try scratch.mounts(type: "nfs4", options: ["hard": "", "acdirmax": "60"]))
        let found = doctor.run()
        #expect(findings(found, "filesystem").first?.message.contains("NFS") == true)
        #expect(findings(found, "nfs-options").contains { $0.severity == .warning && $0.message.contains("acdirmax=60") })
        #expect(Doctor.worst(found) == .warning, "\(found)")
    }

    @Test func spoolOnCIFSIsAProblem() throws {
        let scratch = try ScratchSpool()
        let found = scratch.doctor(try scratch.mounts(type: "cifs")).run()
        #expect(findings(found, "filesystem").first?.severity == .problem)
    }

    @Test func localSpoolWithItsOwnClockIsAllWell() throws {
        let scratch = try ScratchSpool()
        let found = scratch.doctor(try MountTable.current()).run()
        #expect(Doctor.worst(found) != .problem, "\(found)")
        #expect(findings(found, "clock").first?.severity == .ok, "\(found)")
        #expect(!FileSystem.names(inOrEmpty: scratch.spool.hostsPath).contains { $0.contains("doctor") },
                "the probe file was removed")
    }

    @Test func anotherHostsClockFarOffIsAProblem() throws {
        let scratch = try ScratchSpool()
        var beat = Heartbeat(host: try HostID("faraway"), pid: 42, version: "t", queues: [buildQueue], running: [],
                             concurrency: 1, started: .now(), updated: .now() + 30)
        beat.bootID = "other-boot"
        try scratch.spool.write(beat)
        let found = scratch.doctor(try MountTable.current()).run()
        #expect(findings(found, "clock").contains { $0.severity == .problem && $0.message.contains("faraway") }, "\(found)")
    }

    @Test func hostIDOfAnotherMachineIsAProblem() throws {
        let scratch = try ScratchSpool(host: "twin")
        var beat = Heartbeat(host: try HostID("twin"), pid: 77, version: "t", queues: [buildQueue], running: [],
                             concurrency: 1, started: .now())
        beat.bootID = "a-boot-of-another-machine"
        try scratch.spool.write(beat)
        let found = scratch.doctor(try MountTable.current()).run()
        #expect(findings(found, "host-id").first?.severity == .problem, "\(found)")
    }

    @Test func queueConsumedOnTwoHostsIsAProblemOnlyWhenSynced() throws {
        let scratch = try ScratchSpool()
        for host in ["one", "two"] {
            try scratch.spool.write(Heartbeat(host: try HostID(host), pid: 5, version: "t", queues: [buildQueue],
                                              running: [], concurrency: 1, started: .now()))
        }
        let shared = scratch.doctor(try MountTable.current()).run()
        #expect(findings(shared, "sync").first?.severity == .ok, "a shared spool may have many consumers")
        // A queue with an inbox/ makes the spool a synced one.
        try FileSystem.makeDirectories(scratch.spool.path(buildQueue) + "/inbox")
        let synced = scratch.doctor(try MountTable.current()).run()
        #expect(findings(synced, "sync").contains { $0.severity == .problem && $0.message.contains("one and two") },
                "\(synced)")
    }

    @Test func directoryTheAgentsUserCannotWriteIsAProblem() throws {
        let scratch = try ScratchSpool()
        let stranger = UserAccount(name: "stranger", uid: 54_321, gid: 54_321, groups: [54_321])
        try FileSystem.setMode(scratch.spool.root, 0o755)
        let found = scratch.doctor(try MountTable.current(), user: stranger).run()
        #expect(findings(found, "permissions").first?.severity == .problem, "\(found)")
        #expect(findings(found, "permissions").first?.message.contains(scratch.spool.root) == true)
        let owner = try FileOwnership.of(scratch.spool.root)
        #expect(owner.allowsFullUse(by: UserAccount(name: "member", uid: 999, gid: 5, groups: [owner.gid])) == false,
                "0755: the group may not write")
    }

    @Test func zoomdbOnANetworkFileSystemIsAProblem() throws {
        let scratch = try ScratchSpool()
        let db = scratch.directory + "/zoomdb.sqlite3"
        try FileIO.create(db, bytes: [], sync: false)
        let found = scratch.doctor(try scratch.mounts(type: "nfs4", options: ["hard": ""]), zoomdb: db).run()
        #expect(findings(found, "zoomdb").first?.severity == .problem, "\(found)")
        let local = scratch.doctor(try MountTable.current(), zoomdb: db).run()
        #expect(findings(local, "zoomdb").first?.severity == .ok, "\(local)")
    }

    @Test func missingSpoolIsOneProblem() {
        let doctor = Doctor(Doctor.Settings(spool: Spool(root: "/nonexistent/dz-spool")), mounts: MountTable(mounts: []))
        let found = doctor.run()
        #expect(found.count == 1 && found[0].severity == .problem)
    }
}

extension FileSystem {
    static func names(inOrEmpty path: String) -> [String] { (try? names(in: path)) ?? [] }
}

let buildQueue = try! QueueName("build")
