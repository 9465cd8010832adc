#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Synchronization
import Testing
@testable import DZBuild
@testable import DZBundle
@testable import DZSource

/// A hostile tenant on a build host, with real builds (bubblewrap, pip, Django): the project `mallory`, examples/hello
/// with a settings module that, at import (by the one Python that checks the imports and then runs collectstatic),
/// tries to read the host's secrets, another project's files and the zoomdb, to write into the spool, to reach the
/// network, and whatever else a test asks of it through the repository's `targets.json`. Beside it on the same host: a
/// bystander project's files and an app's secrets where a build host and an appserver sharing a data directory
/// would have them, and a spool. Every attempt fails or finds nothing, and no secret reaches a bundle.
///
/// The tests share one data directory, so that mallory's virtualenv is made once (its first build runs pip) and the
/// others reuse it; each test builds a repository of its own.
@Suite(.serialized, HostileLab.Scope()) struct HostileBuildTests {
    @Test(.timeLimit(.minutes(15)))
    func settingsCodeFindsNoHostSecretNoOtherProjectNoZoomdbAndNoNetwork() async throws {
        let lab = try await HostileLab.lab()
        let targets: [String: Any] = [
            "read": ["/etc/shadow", "/etc/passwd", lab.zoomdb, lab.appDirectory + "/runtime.env", lab.bystanderCode,
                     lab.bystanderCache, lab.spool + "/build/done/2026-12-01/task.json", "/proc/1/environ"],
            "list": ["/", "/dz", lab.root, lab.workspace.root, lab.spool],
        ]
        let built = try await lab.build(try await lab.repository("reads", targets: targets)).get()
        let uid = try BuildUsers(workspace: lab.workspace).uid(for: HostileLab.mallory)
        for phase in HostileLab.phases {
            let report = try lab.report(built, phase)
            #expect(report["uid"] as? Int == Int(uid), "\(phase): the project's build user, not root")
            let read = report["read"] as? [String: String] ?? [:]
            for path in targets["read"] as? [String] ?? [] where path != "/etc/passwd" && path != "/proc/1/environ" {
                #expect(read[path]?.hasPrefix("error: FileNotFound") == true, "\(phase): \(path): \(read[path] ?? "")")
            }
            #expect(read["/etc/passwd"]?.contains("daemon:") == false, "\(phase): the host's passwd is visible")
            for secret in HostileLab.secrets { #expect(read["/proc/1/environ"]?.contains(secret) == false) }
            let listed = report["listed"] as? [String: Any] ?? [:]
            #expect(listed["/dz"] as? [String] == ["build"], "\(phase): \(listed["/dz"] ?? "")")
            for path in [lab.root, lab.workspace.root, lab.spool] {
                #expect((listed[path] as? String)?.hasPrefix("error: FileNotFound") == true, "\(phase): \(path)")
            }
            #expect((report["network"] as? String)?.hasPrefix("error: ") == true, "\(phase): the network is reachable")
            #expect(report["environ"] as? [String] == ["DJANGO_SETTINGS_MODULE", "DZ_DATABASE_URL", "HOME", "LANG",
                                                       "LOGNAME", "PATH", "PWD", "PYTHONDONTWRITEBYTECODE",
                                                       "PYTHONUNBUFFERED", "TMPDIR", "USER"],
                    "\(phase): \(report["environ"] ?? "")")
        }
        #expect(try await lab.filesWithSecrets(in: built.buildDirectory) == [])
        let extracted = lab.root + "/extracted-reads"
        _ = try BundleArchive.extract(built.archivePath, into: extracted)
        #expect(try await lab.filesWithSecrets(in: extracted) == [])
    }

    @Test(.timeLimit(.minutes(15)))
    func settingsCodeCannotWriteIntoTheSpoolTheZoomdbOrAnotherProject() async throws {
        let lab = try await HostileLab.lab()
        let targets = [
            lab.spool + "/build/new/injected.json", lab.zoomdb + "-journal", lab.appDirectory + "/runtime.env.new",
            lab.workspace.root + "/checkouts/bystander/src/bystander/injected.py",
            lab.workspace.root + "/caches/bystander/venvs/injected/lib/python3.11/site-packages/injected.pth",
            lab.workspace.root + "/venvs/injected/lib/python3.11/site-packages/injected.pth", "/etc/injected",
            "/usr/lib/python3/dist-packages/injected.pth",
        ]
        let built = try await lab.build(try await lab.repository("writes", targets: ["write": targets])).get()
        for phase in HostileLab.phases {
            let wrote = try lab.report(built, phase)["wrote"] as? [String: String] ?? [:]
            for path in targets {
                #expect(wrote[path]?.hasPrefix("error: ") == true, "\(phase): \(path): \(wrote[path] ?? "")")
            }
        }
        for path in targets { #expect(!FileSystem.exists(path), "\(path) was written from a build") }
        #expect(try FileSystem.names(in: lab.spool + "/build/new") == [])
    }

    @Test(.timeLimit(.minutes(20)))
    func warmBuildCodeCannotWriteIntoTheCachedVirtualenvItsBundleIsArchivedFrom() async throws {
        let lab = try await HostileLab.lab()
        let targets = ["/dz/build/venv/PLANTED", "/dz/build/venv/bin/planted"]
        // The first build of the two makes the virtualenv if no other test made mallory's yet; the second reuses it.
        _ = try await lab.build(try await lab.repository("venv-writes-1", targets: ["write": targets])).get()
        let built = try await lab.build(try await lab.repository("venv-writes-2", targets: ["write": targets])).get()
        #expect(built.reusedVirtualenv)
        for phase in HostileLab.phases {
            let wrote = try lab.report(built, phase)["wrote"] as? [String: String] ?? [:]
            for path in targets {
                #expect(wrote[path]?.hasPrefix("error: ") == true, "\(phase): \(path): \(wrote[path] ?? "")")
            }
        }
        let found = try await Subprocess.run(["find", lab.workspace.root + "/caches/mallory/venvs", built.buildDirectory,
                                              "-name", "PLANTED", "-o", "-name", "planted"], timeout: 60)
        #expect(found.succeeded && found.stdoutText.isEmpty, "\(found.stdoutText)")
        // The bundle's venv/ is the cached virtualenv's, not a copy in the build tree (which holds none).
        #expect(try FileSystem.names(in: built.buildDirectory + "/venv") == [])
        let paths = Set(built.manifest.files.map(\.path))
        #expect(paths.contains("venv/pyvenv.cfg") && paths.contains("venv/lib"))
        #expect(!paths.contains("venv/PLANTED") && !paths.contains("venv/bin/planted"))
    }

    @Test(.timeLimit(.minutes(15)))
    func staticfilesDirsOnAnotherAppTheZoomdbOrTheSpoolCollectNothingOfThem() async throws {
        let lab = try await HostileLab.lab()
        let directories = [lab.appDirectory, lab.spool + "/zoomdb", lab.spool + "/build/done",
                           lab.workspace.root + "/checkouts/bystander/src", lab.root]
        let built = try await lab.build(try await lab.repository("statics", targets: ["staticfiles_dirs": directories]))
            .get()
        let collected = try await Subprocess.run(["find", built.buildDirectory + "/static", "-type", "f"], timeout: 60)
        #expect(collected.stdoutText.split(separator: "\n").map { $0.split(separator: "/").suffix(2).joined(separator: "/") }
                    == ["greetings/style.css"], "\(collected.stdoutText)")
        #expect(try await lab.filesWithSecrets(in: built.buildDirectory) == [])
    }

    @Test(.timeLimit(.minutes(15)))
    func symlinkInAStaticDirectoryToEtcPasswdFailsTheBuildNamingTheLink() async throws {
        let lab = try await HostileLab.lab()
        let repository = try await lab.repository("link") { repository in
            try FileSystem.symlink(target: "/etc/passwd", at: repository + "/greetings/static/greetings/passwd.css")
        }
        let before = Set(try FileSystem.names(in: lab.workspace.root + "/builds"))
        switch try await lab.build(repository) {
        case .success(let built):
            Issue.record("a bundle was built with a link to /etc/passwd: \(built.name)")
        case .failure(let error):
            #expect(error.kind == "link")
            #expect(error.message.contains("src/greetings/static/greetings/passwd.css"), "\(error.message)")
            #expect(error.message.contains("/etc/passwd"), "\(error.message)")
        }
        #expect(Set(try FileSystem.names(in: lab.workspace.root + "/builds")) == before, "the failed build left nothing")
    }

    @Test(.timeLimit(.minutes(20)))
    func pthPlantedInOneProjectsVirtualenvCacheNeverReachesAnotherProjectsBuild() async throws {
        let lab = try await HostileLab.lab()
        _ = try await lab.build(try await lab.repository("pth")).get()
        // What mallory's pip step could write into its own cached virtualenv (and the cache that used to be shared).
        let venvs = lab.workspace.root + "/caches/mallory/venvs"
        let keys = try FileSystem.names(in: venvs).filter { !$0.contains(".") }
        try #require(keys.count >= 1)
        let planted = "import os; open('/dz/build/src/PTH-RAN', 'w').write('the planted .pth ran')\n"
        var plantedFiles: [String] = []
        defer { for path in plantedFiles { try? FileSystem.unlink(path) } }
        for directory in keys.map({ venvs + "/" + $0 }) + [lab.workspace.root + "/venvs/" + keys[0]] {
            let lib = directory + "/lib"
            try FileSystem.makeDirectories(lib + "/python3.11/site-packages")
            for version in try FileSystem.names(in: lib) where version.hasPrefix("python") {
                let path = lib + "/" + version + "/site-packages/zz_planted.pth"
                try? FileSystem.unlink(path)
                try FileIO.create(path, bytes: Array(planted.utf8), mode: 0o644, sync: false)
                plantedFiles.append(path)
            }
        }

        // Another project with the very same requirements: one shared cache would have given it mallory's venv.
        let victim = try ProjectID("victim")
        let victimBuilt = try await lab.build(try await lab.repository("victim", hostile: false), project: victim).get()
        #expect(!victimBuilt.reusedVirtualenv, "the victim's first build makes its own virtualenv")
        #expect(!FileSystem.exists(victimBuilt.buildDirectory + "/src/PTH-RAN"), "mallory's .pth ran in the victim's build")
        let found = try await Subprocess.run(["find", victimBuilt.buildDirectory + "/venv",
                                              lab.workspace.root + "/caches/victim", "-name", "zz_planted.pth"],
                                             timeout: 60)
        #expect(found.stdoutText.isEmpty, "\(found.stdoutText)")
        let users = BuildUsers(workspace: lab.workspace)
        #expect(try users.uid(for: victim) != users.uid(for: HostileLab.mallory), "each project builds as its own user")

        // Within one project the venv is reused (the warm build): there the planted file does run.
        let again = try await lab.build(try await lab.repository("pth-again")).get()
        #expect(again.reusedVirtualenv)
        #expect(FileSystem.exists(again.buildDirectory + "/src/PTH-RAN"), "the test planted where a build would look")
    }

    @Test(.timeLimit(.minutes(10)))
    func repositoryExpandingPastTheCapFailsBeforeItsFilesAreWritten() async throws {
        let lab = try await HostileLab.lab()
        let repository = try await lab.repository("bomb", hostile: false) { repository in
            // 96 MiB of zeros: git keeps it in about 100 KiB.
            let file = try OpenFile.create(repository + "/blob.bin")
            let chunk = [UInt8](repeating: 0, count: 1 << 20)
            for _ in 0..<96 { try file.write(chunk) }
            try file.close()
        }
        let project = try ProjectID("bomb")
        let result = try await lab.build(repository, project: project, limits: BuildLimits(maxBundleSize: 32 << 20))
        guard case .failure(let error) = result else {
            Issue.record("a revision of 96 MiB was built under a 32 MiB cap")
            return
        }
        #expect(error.kind == "too-large")
        #expect(error.message.contains("more than the 32 MiB"), "\(error.message)")
        #expect(error.message.contains("--max-bundle-size"))
        let checkout = lab.workspace.sourceDirectory(project)
        #expect(!FileSystem.exists(checkout + "/blob.bin"), "the huge file was written")
        let size = TreeSize.measure([lab.workspace.root + "/checkouts/bomb"])
        #expect(size.bytes < 8 << 20, "the checkout holds \(size.bytes) bytes")
        #expect(try FileSystem.names(in: lab.workspace.root + "/builds").allSatisfy { !$0.contains("_bomb_") })
    }

    @Test(.timeLimit(.minutes(15)))
    func staticFilesPastTheCapFailTheBuild() async throws {
        let lab = try await HostileLab.lab()
        let repository = try await lab.repository("bigstatic", targets: ["staticfiles_dirs": ["bigstatic"]]) { repository in
            for index in 0..<3 {
                let bytes = Host.randomBytes(1 << 20)
                try FileSystem.makeDirectories(repository + "/bigstatic")
                try FileIO.create(repository + "/bigstatic/blob\(index).bin", bytes: bytes, mode: 0o644, sync: false)
            }
        }
        guard case .failure(let error) = try await lab.build(repository, limits: BuildLimits(maxStaticSize: 2 << 20)) else {
            Issue.record("3 MiB of static files were collected under a 2 MiB cap")
            return
        }
        #expect(error.kind == "too-large")
        #expect(error.message.contains("the static files grew past 2 MiB"), "\(error.message)")
        #expect(error.message.contains("--max-static-size"))
    }

    @Test(.timeLimit(.minutes(15)))
    func buildCodeWritingWithoutEndIsStoppedAtTheCap() async throws {
        let lab = try await HostileLab.lab()
        let normal = try await lab.build(try await lab.repository("normal")).get()
        let size = TreeSize.measure([normal.buildDirectory])
        let cap = size.bytes + (64 << 20)
        let before = Set(try FileSystem.names(in: lab.workspace.root + "/builds"))
        let result = try await lab.build(try await lab.repository("fill", targets: ["fill": true]),
                                         limits: BuildLimits(maxBundleSize: cap))
        guard case .failure(let error) = result else {
            Issue.record("a build writing without end finished")
            return
        }
        #expect(error.kind == "too-large")
        #expect(error.message.contains("the build grew past \(ByteSize.text(cap))"), "\(error.message)")
        #expect(Set(try FileSystem.names(in: lab.workspace.root + "/builds")) == before, "the failed build left nothing")
    }

    @Test(.timeLimit(.minutes(15)))
    func buildTreesBundlesCachesAndCheckoutsAreTheAgentsAlone() async throws {
        let lab = try await HostileLab.lab()
        let built = try await lab.build(try await lab.repository("modes")).get()
        let uid = try BuildUsers(workspace: lab.workspace).uid(for: HostileLab.mallory)
        func mode(_ path: String) throws -> (Int, Int) {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.posixPermissions] as? Int ?? -1, attributes[.ownerAccountID] as? Int ?? -1)
        }
        let data = lab.workspace.root
        for path in ["/checkouts", "/checkouts/mallory", "/builds", "/bundles", "/caches", "/caches/mallory",
                     "/caches/mallory/venvs", "/build-users", "/sandbox"] {
            #expect(try mode(data + path) == (0o700, 0), "\(path)")
        }
        #expect(try mode(built.buildDirectory) == (0o700, Int(uid)), "the build tree is the build user's, 0700")
        #expect(try mode(data + "/caches/mallory/pip") == (0o700, Int(uid)))
        #expect(try mode(built.archivePath).0 == 0o600)
        #expect(try mode(BundleArchive.manifestPath(for: built.archivePath)).0 == 0o600)
        #expect(!FileSystem.exists(built.buildDirectory + ".tmp"), "the build's /tmp is removed")

        let store = DirectoryStore(root: lab.root + "/store")
        let key = "mallory/" + built.name + ".tar.zst"
        _ = try await store.put(file: built.archivePath, key: key)
        #expect(try mode(lab.root + "/store/mallory").0 == 0o750)
        #expect(try mode(lab.root + "/store/" + key).0 == 0o640, "the store's objects: the writer's and its group's")
        #expect(try mode(lab.root + "/store/" + key + ".sha256").0 == 0o640)
        _ = try await store.get(key: key, to: lab.root + "/fetched.tar.zst", expectedSHA256: nil)
        #expect(try mode(lab.root + "/fetched.tar.zst").0 == 0o600)
    }
}
