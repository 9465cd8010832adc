@testable import DZSystem
import Testing

@Suite struct InotifyTests {
    @Test func reportsRenamesLinksAndFinishedWrites() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        try FileSystem.makeDirectory(dir + "/new")
        try FileSystem.makeDirectory(dir + "/tmp")
        let inotify = try Inotify()
        let watch = try inotify.watch(dir + "/new")
        try FileIO.create(dir + "/tmp/a", bytes: [1], sync: false)
        try FileSystem.rename(dir + "/tmp/a", dir + "/new/a.json")
        try FileIO.create(dir + "/tmp/b", bytes: [1], sync: false)
        try FileSystem.link(dir + "/tmp/b", dir + "/new/b.json")
        try FileIO.create(dir + "/new/c.json", bytes: [1], sync: false)
        var seen: [String: UInt32] = [:]
        while seen.count < 3 {
            guard let events = try inotify.read() else { break }
            for event in events {
                #expect(event.watch == watch)
                seen[event.name, default: 0] |= event.mask
            }
        }
        #expect(Set(seen.keys) == ["a.json", "b.json", "c.json"])
        inotify.close()
        #expect(try inotify.read() == nil)
    }

    @Test func aReadWithATimeoutReturnsNoEventsWhenNoneCame() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let inotify = try Inotify()
        _ = try inotify.watch(dir)
        #expect(try inotify.read(timeout: 10) == [])
        try FileIO.create(dir + "/a.json", bytes: [1], sync: false)
        var names: [String] = []
        while names.isEmpty, let events = try inotify.read(timeout: 1000) { names += events.map(\.name) }
        #expect(names.contains("a.json"))
        inotify.close()
        #expect(try inotify.read(timeout: 10) == nil)
    }

    @Test func parsesPackedEvents() {
        // Two records: wd 1, IN_MOVED_TO (0x80), name "x.json" padded to 16; wd 2, IN_Q_OVERFLOW, no name.
        var bytes: [UInt8] = [1, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]
        bytes += Array("x.json".utf8) + [UInt8](repeating: 0, count: 10)
        bytes += [2, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let events = Inotify.parse(bytes)
        #expect(events.count == 2)
        #expect(events[0].name == "x.json")
        #expect(events[0].watch == 1)
        #expect(events[1].isOverflow)
    }
}
