@testable import DZSource
import DZSystem
@testable import DZWork
import Foundation
import Testing

/// The release command that would run is checked by check_repo, before the build and the migration: a line the
/// shell cannot parse is refused with the ways out; shell syntax itself is what Heroku runs, so it passes.
@Suite struct ProcfileRefusalTests {
    @Test func aMalformedReleaseLineIsRefusedWithTheWaysOutAndAPipedOnePasses() async throws {
        let directory = NSTemporaryDirectory() + "dz-procfile-\(UUID().uuidString)"
        try FileSystem.makeDirectories(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "web: uwsgi --ini uwsgi.ini\nrelease: yes \"yes\" | python manage.py migrate\n"
            .write(toFile: directory + "/Procfile", atomically: true, encoding: .utf8)
        #expect(await CheckRepoHandler.releaseProblem(configured: nil, repository: directory) == nil)
        try "release: echo 'open | python manage.py migrate\n"
            .write(toFile: directory + "/Procfile", atomically: true, encoding: .utf8)
        let problem = try #require(await CheckRepoHandler.releaseProblem(configured: nil, repository: directory))
        #expect(problem.contains("is not a valid shell command line (/bin/sh -n: "), "\(problem)")
        #expect(problem.contains("--param release=false"))
        #expect(problem.contains("procfile_release in zoombuild.cfg replaces it"))
        // The configured command is the one that runs: it is checked instead, and empty means none.
        #expect(await CheckRepoHandler.releaseProblem(configured: "", repository: directory) == nil)
        #expect(await CheckRepoHandler.releaseProblem(configured: "python manage.py migrate && python manage.py check",
                                                      repository: directory) == nil)
        let configured = try #require(await CheckRepoHandler.releaseProblem(configured: "if then fi",
                                                                            repository: directory))
        #expect(configured.hasPrefix("zoombuild.cfg's procfile_release: "), "\(configured)")
        try FileManager.default.removeItem(atPath: directory + "/Procfile")
        try FileSystem.symlink(target: "/etc/passwd", at: directory + "/Procfile")
        #expect(await CheckRepoHandler.releaseProblem(configured: nil, repository: directory) == nil, "a link is not read")
    }

    @Test func anEmptyProcfileReleaseIsKeptApartFromAnUnsetOne() throws {
        let unset = try ZoombuildConfig.parse("[project]\ndjango_settings_module = a.settings\n")
        #expect(unset.procfileRelease == nil)
        let empty = try ZoombuildConfig.parse("[project]\nprocfile_release =\n")
        #expect(empty.procfileRelease == "")
        #expect(try ZoombuildConfig.parse(empty.rendered()) == empty)
        #expect(try ZoombuildConfig.parse(unset.rendered()) == unset)
        #expect(unset.rendered().contains("# procfile_release =   (unset"))
    }
}
