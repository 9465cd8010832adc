@testable import DZBuild
import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The project's cache of virtualenvs: a virtualenv's archive segment goes with it, whether it is pruned or made
/// again, and what builds are still making is left alone.
@Suite struct ProjectCacheTests {
    @Test func prunedVirtualenvTakesItsMarkAndSegmentAndFreshPartialsStay() throws {
        try withCache { cache in
            let keys = (0..<5).map { String(repeating: String($0), count: 64) }
            for (index, key) in keys.enumerated() {
                try FileSystem.makeDirectories(cache.venv(key) + "/bin")
                try FileIO.create(cache.marker(key), bytes: [], mode: 0o600, sync: false)
                try FileIO.create(cache.segment(key), bytes: [1, 2, 3], mode: 0o600, sync: false)
                // Used in order: keys[4] most recently.
                try FileSystem.touch(cache.marker(key), modified: Timestamp(nanoseconds: Int64(index + 1) * 1_000_000_000_000))
            }
            let fresh = cache.segment(keys[0]) + ".partial-1-abc"
            let stale = cache.segment(keys[0]) + ".partial-2-def"
            try FileIO.create(fresh, bytes: [], mode: 0o600, sync: false)
            try FileIO.create(stale, bytes: [], mode: 0o600, sync: false)
            try FileSystem.touch(stale, modified: Timestamp(nanoseconds: Timestamp.now().nanoseconds - 2 * 86_400 * 1_000_000_000))

            cache.prune(keeping: keys[0])
            // Kept: the current one and the three most recently used.
            for key in [keys[0], keys[2], keys[3], keys[4]] {
                #expect(FileSystem.exists(cache.venv(key)) && FileSystem.exists(cache.marker(key))
                    && FileSystem.exists(cache.segment(key)))
            }
            #expect(!FileSystem.exists(cache.venv(keys[1])) && !FileSystem.exists(cache.marker(keys[1]))
                && !FileSystem.exists(cache.segment(keys[1])), "the pruned virtualenv's segment goes with it")
            #expect(FileSystem.exists(fresh), "a segment another build is making stays")
            #expect(!FileSystem.exists(stale), "a day-old partial segment is a dead agent's")
        }
    }

    @Test func virtualenvMadeAgainLosesTheOldSegment() throws {
        try withCache { cache in
            let key = String(repeating: "a", count: 64)
            try FileSystem.makeDirectories(cache.venv(key))
            try FileIO.create(cache.segment(key), bytes: [1, 2, 3], mode: 0o600, sync: false)
            let building = cache.venvs + "/" + key + ".building-b"
            try FileSystem.makeDirectories(building + "/lib")
            try cache.keep(building, as: key)
            #expect(!FileSystem.exists(cache.segment(key)))
            #expect(FileSystem.exists(cache.venv(key) + "/lib") && FileSystem.exists(cache.marker(key)))
        }
    }
}

private func withCache(_ body: (ProjectCache) throws -> Void) throws {
    var template = Array("/tmp/dz-cache-XXXXXX".utf8CString)
    let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: root) }
    let cache = ProjectCache(workspace: Workspace(root: root), project: try ProjectID("shop"))
    _ = try cache.prepare()
    try body(cache)
}
