@testable import DZWork
import DZSystem
import Foundation
import Testing

/// A Procfile release command dz would refuse is refused by check_repo, before the build and the migration.
@Suite struct ProcfileRefusalTests {
    @Test func aPipedReleaseLineIsRefusedWithTheWaysOut() throws {
        let directory = NSTemporaryDirectory() + "dz-procfile-\(UUID().uuidString)"
        try FileSystem.makeDirectories(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "web: uwsgi --ini uwsgi.ini\nrelease: yes \"yes\" | python manage.py migrate\n"
            .write(toFile: directory + "/Procfile", atomically: true, encoding: .utf8)
        let problem = try #require(CheckRepoHandler.releaseProblem(configured: nil, repository: directory))
        #expect(problem.contains("uses shell syntax (|)"))
        #expect(problem.contains("--param release=false"))
        try "release: python manage.py migrate --noinput\n".write(toFile: directory + "/Procfile", atomically: true,
                                                                  encoding: .utf8)
        #expect(CheckRepoHandler.releaseProblem(configured: nil, repository: directory) == nil)
        try FileManager.default.removeItem(atPath: directory + "/Procfile")
        try FileSystem.symlink(target: "/etc/passwd", at: directory + "/Procfile")
        #expect(CheckRepoHandler.releaseProblem(configured: nil, repository: directory) == nil, "a link is not read")
    }
}
