import DZSystem
import Foundation
import Testing

/// `FileIO.replace`: the one write-beside-and-rename of a whole file outside the spool's protocol.
@Suite struct FileReplaceTests {
    @Test func replaceSwapsTheWholeFileWithItsModeAndLeavesNothingBeside() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/status.json"
        try FileIO.replace(path, bytes: Array("old".utf8), mode: 0o644, sync: true)
        let before = umask(0o077)
        defer { umask(before) }
        try FileIO.replace(path, bytes: Array("new".utf8), mode: 0o755, sync: false)
        #expect(try FileIO.readAll(path) == Array("new".utf8))
        #expect(try FileSystem.status(path).permissions & 0o777 == 0o755)
        #expect(try FileSystem.names(in: dir) == ["status.json"])
    }

    @Test func aFailedReplaceLeavesTheOldFileAndNoTemporary() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileSystem.makeDirectory(dir + "/taken")
        try FileIO.create(dir + "/taken/x", bytes: [1], sync: false)
        // A non-empty directory cannot be renamed over: the write succeeds, the rename fails.
        #expect(throws: Errno.self) { try FileIO.replace(dir + "/taken", bytes: [2], mode: 0o644, sync: false) }
        #expect(try FileSystem.names(in: dir).sorted() == ["taken"])
        #expect(throws: Errno.self) { try FileIO.replace(dir + "/missing/file", bytes: [2], mode: 0o644, sync: false) }
    }
}
