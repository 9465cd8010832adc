import DZSystem
import Foundation
import Testing

/// A fresh directory under /tmp, removed by `cleanup()`.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/dz-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    return path
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

@Suite struct FileSystemTests {
    @Test func renameNoReplaceRefusesToOverwrite() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileIO.create(dir + "/a", bytes: Array("a".utf8), sync: false)
        try FileIO.create(dir + "/b", bytes: Array("b".utf8), sync: false)
        #expect(throws: Errno.fileExists) { try FileSystem.renameNoReplace(dir + "/a", dir + "/b") }
        guard case .contents(let bytes, _) = try FileIO.read(dir + "/b", limit: 10) else {
            Issue.record("b unreadable")
            return
        }
        #expect(bytes == Array("b".utf8))
        try FileSystem.renameNoReplace(dir + "/a", dir + "/c")
        #expect(!FileSystem.exists(dir + "/a"))
        #expect(FileSystem.exists(dir + "/c"))
    }

    @Test func renameOfMissingFileIsNoSuchFile() {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try FileSystem.rename(dir + "/missing", dir + "/x") }
    }

    @Test func createIsExclusive() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileIO.create(dir + "/f", bytes: [1, 2, 3], sync: true)
        #expect(throws: Errno.fileExists) { try FileIO.create(dir + "/f", bytes: [4], sync: false) }
    }

    @Test func boundedReadReportsOversizedFiles() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileIO.create(dir + "/big", bytes: [UInt8](repeating: 65, count: 2000), sync: false)
        #expect(try FileIO.read(dir + "/big", limit: 1000) == .tooLarge(size: 2000))
        guard case .contents(let bytes, let status) = try FileIO.read(dir + "/big", limit: 2000) else {
            Issue.record("expected contents")
            return
        }
        #expect(bytes.count == 2000)
        #expect(status.isRegular)
    }

    @Test func boundedReadRefusesSymbolicLinks() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileSystem.symlink(target: "/etc/hostname", at: dir + "/link")
        #expect(throws: Errno.tooManySymbolicLinkLevels) { try FileIO.read(dir + "/link", limit: 100) }
        #expect(try FileSystem.linkStatus(dir + "/link").kind == .symbolicLink)
    }

    @Test func touchSetsModificationTimeAndRenameChangesChangeTime() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileIO.create(dir + "/f", bytes: [1], sync: false)
        let past = Timestamp.now() + -3600
        try FileSystem.touch(dir + "/f", modified: past)
        let before = try FileSystem.status(dir + "/f")
        #expect(abs(before.modified - past) < 0.001)
        try FileSystem.rename(dir + "/f", dir + "/g")
        let after = try FileSystem.status(dir + "/g")
        // rename keeps mtime: the lease must count from the later of mtime and ctime.
        #expect(after.modified == before.modified)
        #expect(after.lastTouched > past + 3000)
    }

    @Test func namesListsWithoutDots() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileSystem.makeDirectories(dir + "/a/b/c")
        try FileIO.create(dir + "/a/x", bytes: [], sync: false)
        #expect(try FileSystem.names(in: dir + "/a").sorted() == ["b", "x"])
        try FileSystem.syncDirectory(dir + "/a")
    }

    @Test func countCountsEntriesWithoutDots() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        #expect(try FileSystem.count(in: dir) == 0)
        try FileSystem.makeDirectory(dir + "/..x")
        for name in [".", "..a", "a", ".hidden"].map({ $0 + "f" }) { try FileIO.create(dir + "/" + name, bytes: [], sync: false) }
        #expect(try FileSystem.count(in: dir) == 5)
        #expect(try FileSystem.count(in: dir) == FileSystem.names(in: dir).count)
        #expect(throws: Errno.self) { try FileSystem.count(in: dir + "/missing") }
    }

    @Test func makeDirectoryAcceptsExistingDirectory() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileSystem.makeDirectory(dir + "/d")
        try FileSystem.makeDirectory(dir + "/d")
        try FileIO.create(dir + "/f", bytes: [], sync: false)
        #expect(throws: Errno.fileExists) { try FileSystem.makeDirectory(dir + "/f") }
    }

    @Test func appendFileWritesWholeLines() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let file = try AppendFile(path: dir + "/log")
        try file.append(Array("one\n".utf8))
        try FileSystem.rename(dir + "/log", dir + "/log.1")
        try file.reopen()
        try file.append(Array("two\n".utf8))
        #expect(try FileIO.readAll(dir + "/log.1") == Array("one\n".utf8))
        #expect(try FileIO.readAll(dir + "/log") == Array("two\n".utf8))
    }

    @Test func capacityAndHostFacts() throws {
        let capacity = try FileSystem.capacity(of: "/tmp")
        #expect(capacity.bytesTotal > 0)
        #expect(Host.isAlive(pid: Host.pid))
        #expect(!Host.isAlive(pid: 0))
        #expect(Host.memory() != nil)
        #expect(Host.randomBytes(16).count == 16)
    }
}
