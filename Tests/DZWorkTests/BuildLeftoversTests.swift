@testable import DZBuild
import DZSystem
@testable import DZWork
import Foundation
import Testing

/// A build host removes what old builds left in `<data>/builds/`: trees after a day, pip logs after a week, and
/// nothing younger or not a build's.
@Suite struct BuildLeftoversTests {
    @Test func oldTreesAndLogsGoAndRecentOnesStay() throws {
        let root = NSTemporaryDirectory() + "dz-leftovers-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let builds = root + "/builds"
        let now = Date()
        func make(_ name: String, directory: Bool, age: Double) throws {
            let path = builds + "/" + name
            if directory {
                try FileSystem.makeDirectories(path + "/venv/lib")
                try "x".write(toFile: path + "/venv/lib/a.py", atomically: false, encoding: .utf8)
            } else {
                try "log".write(toFile: path, atomically: false, encoding: .utf8)
            }
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-age)], ofItemAtPath: path)
        }
        try make("bundle_old_2026-11-01-10.00.00", directory: true, age: 2 * 86_400)
        try make("bundle_old_2026-11-01-10.00.00.tmp", directory: true, age: 2 * 86_400)
        try make("bundle_new_2026-12-05-10.00.00", directory: true, age: 3600)
        try make("bundle_old_2026-11-01-10.00.00.pip.log", directory: false, age: 2 * 86_400)
        try make("bundle_older_2026-10-01-10.00.00.pip.log", directory: false, age: 8 * 86_400)
        try make("operator-notes", directory: true, age: 30 * 86_400)

        let removed = BuildLeftovers(workspace: Workspace(root: root)).prune()
        #expect(Set(removed.trees) == ["bundle_old_2026-11-01-10.00.00", "bundle_old_2026-11-01-10.00.00.tmp"])
        #expect(removed.logs == ["bundle_older_2026-10-01-10.00.00.pip.log"])
        #expect(Set(try FileSystem.names(in: builds)) == ["bundle_new_2026-12-05-10.00.00",
                                                          "bundle_old_2026-11-01-10.00.00.pip.log", "operator-notes"])
    }

    @Test func aMissingBuildsDirectoryIsNothingToDo() {
        let removed = BuildLeftovers(workspace: Workspace(root: "/nonexistent/dz-\(UUID().uuidString)")).prune()
        #expect(removed == BuildLeftovers.Removed())
    }
}
