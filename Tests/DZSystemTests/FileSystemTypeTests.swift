import DZSystem
import Testing

@Suite struct FileSystemTypeTests {
    @Test func aTemporaryDirectoryIsOnALocalFileSystem() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let type = try FileSystem.type(of: dir)
        #expect(!type.isNetwork, "\(type)")
        #expect(try FileSystem.type(of: "/proc").name == "proc")
    }

    @Test func aFileNotMadeYetHasItsNearestDirectorysType() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        #expect(try FileSystem.type(ofFutureFile: dir + "/a/b/zoomdb.sqlite3") == FileSystem.type(of: dir))
        #expect(throws: Errno.noSuchFileOrDirectory) { try FileSystem.type(of: dir + "/a") }
    }

    @Test func networkAndFuseMagicNumbersAreNetwork() {
        for (magic, name) in [(UInt32(0x6969), "nfs"), (0x6573_5546, "fuse"), (0xFF53_4D42, "cifs"), (0x0102_1997, "9p"),
                              (0x00C3_6400, "ceph")] {
            let type = FileSystemType(magic: magic)
            #expect(type.isNetwork && type.name == name, "\(type)")
        }
        for magic: UInt32 in [0xEF53, 0x5846_5342, 0x0102_1994, 0x794C_7630] {
            #expect(!FileSystemType(magic: magic).isNetwork)
        }
        #expect(FileSystemType(magic: 0x1234).name == "0x1234")
    }
}
