import CArchive
@testable import DZWork
import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZBundle
#endif

@Suite struct BundleArchiveTests {
    // MARK: SHA-256

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256Digest.hash([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hash(Array("abc".utf8))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var pieces = SHA256Digest()
        for byte in "abc".utf8 { pieces.update([byte]) }
        #expect(pieces.finalize() == SHA256Digest.hash(Array("abc".utf8)))
    }

    @Test func sha256CopyContinuesIndependently() {
        var first = SHA256Digest()
        first.update(Array("ab".utf8))
        var second = first
        second.update(Array("c".utf8))
        #expect(first.finalize() == SHA256Digest.hash(Array("ab".utf8)))
        #expect(second.finalize() == SHA256Digest.hash(Array("abc".utf8)))
        // Finalizing does not end the digest.
        first.update(Array("c".utf8))
        #expect(first.finalize() == second.finalize())
    }

    @Test func sha256OfFileMatchesSha256sum() async throws {
        try await withScratch { scratch in
            let path = scratch + "/three-mib"
            try Data(pseudoRandomBytes(3 << 20 + 17, seed: 3)).write(to: URL(fileURLWithPath: path))
            #expect(try SHA256Digest.file(at: path) == (try await sha256sum(path)))
        }
    }

    // MARK: Manifest

    @Test func bundleNameIsUTCSecondsWithOptionalSuffix() throws {
        let time = try #require(Timestamp(rfc3339: "2026-11-29T01:02:03.987654Z"))
        #expect(BundleManifest.bundleName(project: "shop", at: time) == "bundle_shop_2026-11-29-01.02.03")
        #expect(BundleManifest.bundleName(project: "shop", at: time, unique: "2") == "bundle_shop_2026-11-29-01.02.03_2")
        let taken: Set = ["bundle_shop_2026-11-29-01.02.03", "bundle_shop_2026-11-29-01.02.03_2"]
        #expect(BundleManifest.uniqueBundleName(project: "shop", at: time, isTaken: taken.contains)
            == "bundle_shop_2026-11-29-01.02.03_3")
    }

    @Test func manifestSurvivesJSON() throws {
        var manifest = sampleManifest()
        manifest.files = [
            .init(path: "code/app.py", kind: .file, size: 12, sha256: String(repeating: "a", count: 64)),
            .init(path: "bin/run", kind: .file, size: 3, executable: true),
            .init(path: "code", kind: .directory),
            .init(path: "lib64", kind: .symlink, target: "lib"),
        ]
        manifest.skipped = [.init(path: "run/sock", reason: "a socket")]
        manifest.archiveSHA256 = String(repeating: "0", count: 64)
        manifest.archiveSize = 1234
        #expect(try BundleManifest.parse(manifest.serialized()) == manifest)
        let inner = try BundleManifest.parse(manifest.inner.serialized())
        #expect(inner.archiveSHA256 == nil && inner.archiveSize == nil)
        #expect(manifest.inner.json["archive_sha256"] == .null)
    }

    @Test func manifestWithUnsafePathIsRejected() throws {
        var manifest = sampleManifest()
        manifest.files = [.init(path: "../evil", kind: .file)]
        #expect(throws: BundleArchiveError.self) { try BundleManifest.parse(manifest.serialized()) }
    }

    // MARK: Round trip

    @Test func extractingOnlySomeDirectoriesWritesJustThem() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            let archive = scratch + "/bundle.tar.zst"
            let final = try BundleArchive.create(from: source, to: archive, manifest: sampleManifest())
            let out = scratch + "/out"
            #expect(try BundleArchive.extract(archive, into: out, only: ["bin"]) == final.inner)
            #expect(try SHA256Digest.file(at: out + "/bin/run.sh") == SHA256Digest.file(at: source + "/bin/run.sh"))
            #expect(!FileSystem.exists(out + "/data"), "entries outside bin/ are not written")
            #expect(!FileSystem.exists(out + "/empty.txt"))
        }
    }

    @Test func skippedEntriesAreNeitherWrittenNorHashedAndTheArchiveIsReadNoFurtherThanNeeded() async throws {
        try await withScratch { scratch in
            let archive = scratch + "/shared.tar.zst"
            var manifest = sampleManifest()
            manifest.files = [
                .init(path: "src", kind: .directory),
                .init(path: "src/a.py", kind: .file, size: 5, sha256: SHA256Digest.hash(Array("hello".utf8))),
                .init(path: "venv", kind: .directory),
                .init(path: "venv/x", kind: .file, size: 5, sha256: SHA256Digest.hash(Array("other".utf8))),
            ]
            // venv/x differs from its listing, and an entry the manifest does not list follows it: neither is read.
            try craft(archive, [.directory("src"), .file("src/a.py", contents: "hello"), .directory("venv"),
                                .file("venv/x", contents: "wrong"), .file("zzz")], listing: .given(manifest))
            var given: BundleManifest?
            let out = scratch + "/out"
            let extracted = try BundleArchive.extract(archive, into: out) { listed in
                given = listed
                return ["venv"]
            }
            #expect(extracted == manifest && given == manifest, "the manifest is given before any entry is written")
            #expect(try FileSystem.names(in: out).sorted() == [BundleManifest.fileName, "src"])
            #expect(try SHA256Digest.file(at: out + "/src/a.py") == SHA256Digest.hash(Array("hello".utf8)))

            // Read whole, the same archive is refused; so is a written entry that differs from its listing.
            #expect(throws: BundleArchiveError.manifestMismatch(entry: "venv/x", "its SHA-256 differs from the manifest's")) {
                try BundleArchive.extract(archive, into: scratch + "/whole")
            }
            #expect(throws: BundleArchiveError.manifestMismatch(entry: "venv/x", "its SHA-256 differs from the manifest's")) {
                try BundleArchive.extract(archive, into: scratch + "/code") { _ in ["src"] }
            }
            #expect(!FileSystem.exists(scratch + "/whole") && !FileSystem.exists(scratch + "/code"))
        }
    }

    @Test func roundTripKeepsTreeModesAndLinks() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            let archive = scratch + "/bundle.tar.zst"
            let final = try BundleArchive.create(from: source, to: archive, manifest: sampleManifest())

            #expect(final.skipped == [.init(path: "run/fifo", reason: "a FIFO")])
            let byPath = Dictionary(uniqueKeysWithValues: final.files.map { ($0.path, $0) })
            #expect(byPath["bin/run.sh"]?.executable == true)
            #expect(byPath["bin/run"]?.target == "run.sh")
            #expect(byPath["data/big.bin"]?.size == 5 << 20)
            #expect(byPath["empty.txt"]?.size == 0)
            #expect(try BundleArchive.readManifest(archive) == final.inner)
            #expect(try BundleManifest.read(from: BundleArchive.manifestPath(for: archive)) == final)

            let out = scratch + "/out"
            let extracted = try BundleArchive.extract(archive, into: out)
            #expect(extracted == final.inner)
            for entry in final.files {
                let from = source + "/" + entry.path
                let to = out + "/" + entry.path
                switch entry.kind {
                case .file:
                    #expect(try SHA256Digest.file(at: to) == SHA256Digest.file(at: from), "\(entry.path)")
                    #expect(try SHA256Digest.file(at: to) == entry.sha256)
                    #expect(try permissions(to) == (entry.executable ? 0o755 : 0o644), "\(entry.path)")
                case .directory:
                    #expect(try FileSystem.linkStatus(to).isDirectory, "\(entry.path)")
                case .symlink:
                    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: to) == entry.target)
                }
            }
            #expect(try permissions(out + "/bin/run.sh") == 0o755)
            #expect(try FileSystem.linkStatus(out + "/media").isDirectory)
            #expect(try FileSystem.names(in: out + "/media").isEmpty)
            #expect(!FileSystem.exists(out + "/run/fifo"))
            let innerCopy = try BundleManifest.parse(FileIO.readAll(out + "/" + BundleManifest.fileName))
            #expect(innerCopy == final.inner)
            #expect(try FileSystem.names(in: scratch).sorted()
                == ["build", "bundle.tar.zst", "bundle.tar.zst.manifest.json", "out"])
        }
    }

    @Test func sameTreeGivesSameOrderAndBytes() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            let first = try BundleArchive.create(from: source, to: scratch + "/one.tar.zst", manifest: sampleManifest())
            let second = try BundleArchive.create(from: source, to: scratch + "/two.tar.zst", manifest: sampleManifest())
            #expect(first.files.map(\.path) == second.files.map(\.path))
            #expect(first.archiveSHA256 == second.archiveSHA256)
            // Every directory comes before what it holds, names in byte order within one directory.
            let paths = first.files.map(\.path)
            #expect(paths.firstIndex(of: "code") ?? 99 < paths.firstIndex(of: "code/app/models.py") ?? -1)
            #expect(paths.firstIndex(of: "code/app/sub/deep/x.txt") ?? 99 < paths.firstIndex(of: "code/café.txt") ?? -1)
            // GNU tar reads it, sees the manifest first and the files in the manifest's order.
            let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "LC_ALL": "C.UTF-8"]
            let listed = try await Subprocess.run(["tar", "--zstd", "--quoting-style=literal", "-tf", scratch + "/one.tar.zst"],
                                                  environment: environment, timeout: 60)
            try #require(listed.succeeded, "\(listed.tail())")
            let names = listed.stdoutText.split(separator: "\n").map { String($0.hasSuffix("/") ? $0.dropLast() : $0) }
            #expect(names == [BundleManifest.fileName] + paths)
        }
    }

    @Test func besideManifestHashEqualsSha256sum() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            let archive = scratch + "/bundle.tar.zst"
            let final = try BundleArchive.create(from: source, to: archive, manifest: sampleManifest())
            let beside = try BundleManifest.read(from: archive + ".manifest.json")
            #expect(beside.archiveSHA256 == (try await sha256sum(archive)))
            #expect(beside.archiveSize == (try FileSystem.status(archive)).size)
            #expect(beside == final)
            // No block padding after the zstd stream: zstd itself finds nothing to complain about.
            let tested = try await Subprocess.run(["zstd", "-q", "-t", archive], timeout: 60)
            #expect(tested.succeeded && tested.stderr.isEmpty, "\(tested.tail())")
        }
    }

    @Test func archiveInsideItsSourceIsRefused() async throws {
        try await withScratch { scratch in
            try makeSampleTree(scratch + "/build")
            #expect(throws: BundleArchiveError.archiveInsideSource(archive: scratch + "/build/b.tar.zst",
                                                                   directory: scratch + "/build")) {
                try BundleArchive.create(from: scratch + "/build", to: scratch + "/build/b.tar.zst",
                                         manifest: sampleManifest())
            }
        }
    }

    @Test(arguments: [("static/passwd", "/etc/passwd"), ("src/app/up", "../../../etc/passwd"),
                      ("src/escape", "a/../../.."), ("venv/lib64", "/usr/lib64")])
    func archiveRefusesALinkLeavingTheTreeAndNamesIt(_ link: String, _ target: String) async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            try FileSystem.makeDirectories(source + "/" + BundleArchive.parent(of: link))
            try FileSystem.symlink(target: target, at: source + "/" + link)
            #expect(throws: BundleArchiveError.linkLeavesBundle(path: link, target: target)) {
                try BundleArchive.create(from: source, to: scratch + "/b.tar.zst", manifest: sampleManifest())
            }
            #expect(!FileSystem.exists(scratch + "/b.tar.zst"), "nothing written")
            let message = BundleArchiveError.linkLeavesBundle(path: link, target: target).description
            #expect(message.contains(link) && message.contains(target))
        }
    }

    @Test func archiveKeepsLinksInsideTheTreeAndLeavesOutTheNamedInterpreterLinks() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            try FileSystem.makeDirectories(source + "/venv/bin")
            try FileSystem.symlink(target: "/usr/bin/python3.11", at: source + "/venv/bin/python")
            try FileSystem.symlink(target: "python", at: source + "/venv/bin/python3")
            try FileSystem.symlink(target: "../../code/app/models.py", at: source + "/venv/bin/models")
            let final = try BundleArchive.create(from: source, to: scratch + "/b.tar.zst", manifest: sampleManifest(),
                                                 omittingLinks: ["venv/bin/python", "venv/bin/python3"])
            let paths = Set(final.files.map(\.path))
            #expect(!paths.contains("venv/bin/python") && !paths.contains("venv/bin/python3"))
            #expect(final.files.first { $0.path == "venv/bin/models" }?.target == "../../code/app/models.py")
            #expect(try permissions(scratch + "/b.tar.zst") == 0o600, "a bundle is its writer's alone")
            #expect(try permissions(scratch + "/b.tar.zst.manifest.json") == 0o600)
        }
    }

    @Test func graftIsArchivedInPlaceOfTheTreesOwnEntryAndExtractsAsIfItWereThere() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            // What the tree has at the graft's name is left out: the build tree's empty mount point, or anything
            // the project's code put there.
            try FileSystem.makeDirectories(source + "/venv/bin")
            try FileIO.create(source + "/venv/bin/planted", bytes: Array("no\n".utf8), mode: 0o644, sync: false)
            let cached = scratch + "/cache/venvs/0123"
            try FileSystem.makeDirectories(cached + "/bin")
            try FileSystem.makeDirectories(cached + "/lib/python3.11/site-packages")
            try FileIO.create(cached + "/pyvenv.cfg", bytes: Array("home = /usr/bin\n".utf8), mode: 0o644, sync: false)
            try FileIO.create(cached + "/lib/python3.11/site-packages/dz_project.pth",
                              bytes: Array("../../../../src\n".utf8), mode: 0o644, sync: false)
            try FileSystem.symlink(target: "/usr/bin/python3.11", at: cached + "/bin/python")
            try FileSystem.symlink(target: "lib", at: cached + "/lib64")
            let final = try BundleArchive.create(from: source, to: scratch + "/b.tar.zst", manifest: sampleManifest(),
                                                 omittingLinks: ["venv/bin/python"], grafts: ["venv": cached])
            let paths = final.files.map(\.path)
            let venv = paths.filter { $0 == "venv" || $0.hasPrefix("venv/") }
            #expect(venv == ["venv", "venv/bin", "venv/lib", "venv/lib/python3.11",
                             "venv/lib/python3.11/site-packages", "venv/lib/python3.11/site-packages/dz_project.pth",
                             "venv/lib64", "venv/pyvenv.cfg"])
            // In the place the tree's own venv/ had: the order a tree with the virtualenv in it gives.
            let plain = scratch + "/plain"
            try makeSampleTree(plain)
            _ = try await Subprocess.run(["cp", "-a", cached, plain + "/venv"], timeout: 60)
            let copied = try BundleArchive.create(from: plain, to: scratch + "/c.tar.zst", manifest: sampleManifest(),
                                                  omittingLinks: ["venv/bin/python"])
            #expect(copied.files.map(\.path) == paths)
            #expect(copied.files.map(\.sha256) == final.files.map(\.sha256))
            let extracted = scratch + "/extracted"
            _ = try BundleArchive.extract(scratch + "/b.tar.zst", into: extracted)
            #expect(try FileIO.readAll(extracted + "/venv/pyvenv.cfg") == Array("home = /usr/bin\n".utf8))
            #expect(!FileSystem.exists(extracted + "/venv/bin/planted"))
            #expect(try FileSystem.readLink(extracted + "/venv/lib64") == "lib")
        }
    }

    @Test func graftThatIsNotADirectoryIsRefused() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            try FileIO.create(scratch + "/file", bytes: [], mode: 0o644, sync: false)
            #expect(throws: BundleArchiveError.self) {
                try BundleArchive.create(from: source, to: scratch + "/b.tar.zst", manifest: sampleManifest(),
                                         grafts: ["venv": scratch + "/file"])
            }
            #expect(!FileSystem.exists(scratch + "/b.tar.zst"))
        }
    }

    @Test func archivePastItsLimitsIsRefusedBeforeAnythingIsWritten() async throws {
        try await withScratch { scratch in
            let source = scratch + "/build"
            try makeSampleTree(source)
            do throws(BundleArchiveError) {
                try BundleArchive.create(from: source, to: scratch + "/b.tar.zst", manifest: sampleManifest(),
                                         limits: .init(maxBytes: 4 << 20))
                Issue.record("a tree of more than 5 MiB was archived under a 4 MiB limit")
            } catch .tooLarge(let bytes, let limit) {
                #expect(bytes > 5 << 20 && limit == 4 << 20)
            } catch {
                Issue.record("\(error)")
            }
            do throws(BundleArchiveError) {
                try BundleArchive.create(from: source, to: scratch + "/b.tar.zst", manifest: sampleManifest(),
                                         limits: .init(maxEntries: 10))
                Issue.record("a tree of more than 10 names was archived under a 10-name limit")
            } catch .tooManyEntries(let count, let limit) {
                #expect(count > 10 && limit == 10)
            } catch {
                Issue.record("\(error)")
            }
            #expect(!FileSystem.exists(scratch + "/b.tar.zst"))
        }
    }

    @Test func extractNeverReplacesADirectory() async throws {
        try await withScratch { scratch in
            try makeSampleTree(scratch + "/build")
            try BundleArchive.create(from: scratch + "/build", to: scratch + "/b.tar.zst", manifest: sampleManifest())
            try FileSystem.makeDirectory(scratch + "/out")
            #expect(throws: BundleArchiveError.targetExists(scratch + "/out")) {
                try BundleArchive.extract(scratch + "/b.tar.zst", into: scratch + "/out")
            }
            #expect(try FileSystem.names(in: scratch + "/out").isEmpty)
        }
    }

    // MARK: Crafted archives

    /// One hostile archive: its entries after the manifest, the entry refused and why.
    fileprivate struct Hostile: Sendable, CustomTestStringConvertible {
        var label: String
        var entries: [Crafted]
        var refused: String
        var reason: ExtractionRefusal
        var testDescription: String { label }
    }

    static let evilAbsolute = "/tmp/dz-evil-\(UUID().uuidString)"
    static let evilInEtc = "dz-evil-\(UUID().uuidString)"

    fileprivate static let hostile: [Hostile] = [
        .init(label: "absolute path", entries: [.file("ok.txt"), .file(evilAbsolute)], refused: evilAbsolute,
              reason: .absolutePath),
        .init(label: "../evil", entries: [.file("ok.txt"), .file("../evil")], refused: "../evil",
              reason: .parentComponent),
        .init(label: "a/../../evil", entries: [.directory("a"), .file("a/../../evil")], refused: "a/../../evil",
              reason: .parentComponent),
        .init(label: "link to /etc, then a file through it",
              entries: [.file("ok.txt"), .symlink("link", to: "/etc"), .file("link/" + evilInEtc)],
              refused: "link", reason: .absoluteLinkTarget("/etc")),
        .init(label: "link to ../../outside", entries: [.file("ok.txt"), .symlink("link", to: "../../outside")],
              refused: "link", reason: .linkTargetOutside("../../outside")),
        .init(label: "link inside, then a file through it",
              entries: [.directory("sub"), .symlink("link", to: "sub"), .file("link/passwd")],
              refused: "link/passwd", reason: .throughSymbolicLink("link")),
        .init(label: "link climbing after a name",
              entries: [.directory("d"), .symlink("d/s", to: ".."), .symlink("t", to: "d/s/../..")],
              refused: "t", reason: .linkTargetClimbsAfterName("d/s/../..")),
        .init(label: "hard link to /etc/passwd", entries: [.file("ok.txt"), .hardLink("passwd", to: "/etc/passwd")],
              refused: "passwd", reason: .hardLinkOutside("/etc/passwd")),
        .init(label: "hard link to ../outside", entries: [.file("ok.txt"), .hardLink("h", to: "../outside")],
              refused: "h", reason: .hardLinkOutside("../outside")),
        .init(label: "setuid file", entries: [.file("ok.txt"), .file("suid", mode: 0o4755)], refused: "suid",
              reason: .setIDBits("04755")),
        // libarchive's pax writer names a directory with a trailing slash.
        .init(label: "setgid directory", entries: [.file("ok.txt"), .directory("sgid", mode: 0o2755)],
              refused: "sgid/", reason: .setIDBits("02755")),
        .init(label: "device node", entries: [.file("ok.txt"), .device("null")], refused: "null", reason: .deviceFile),
        .init(label: "file replaced by a link", entries: [.file("ok.txt"), .symlink("ok.txt", to: "x")],
              refused: "ok.txt", reason: .duplicate),
    ]

    @Test(arguments: hostile)
    fileprivate func hostileArchiveIsRefusedAndLeavesNothing(_ hostile: Hostile) async throws {
        try await withScratch { scratch in
            let archive = scratch + "/evil.tar.zst"
            try craft(archive, hostile.entries)
            let target = scratch + "/target"
            #expect(throws: BundleArchiveError.refused(entry: hostile.refused, hostile.reason)) {
                try BundleArchive.extract(archive, into: target)
            }
            #expect(try FileSystem.names(in: scratch) == ["evil.tar.zst"])
            #expect(!FileSystem.exists(Self.evilAbsolute))
            #expect(!FileSystem.exists("/etc/" + Self.evilInEtc))
        }
    }

    @Test func contentDifferentFromManifestIsRefused() async throws {
        try await withScratch { scratch in
            let archive = scratch + "/lying.tar.zst"
            var manifest = sampleManifest()
            manifest.files = [.init(path: "a.txt", kind: .file, size: 5, sha256: SHA256Digest.hash(Array("other".utf8)))]
            try craft(archive, [.file("a.txt", contents: "hello")], listing: .given(manifest))
            #expect(throws: BundleArchiveError.manifestMismatch(entry: "a.txt", "its SHA-256 differs from the manifest's")) {
                try BundleArchive.extract(archive, into: scratch + "/target")
            }
            #expect(try FileSystem.names(in: scratch) == ["lying.tar.zst"])
        }
    }

    @Test func entryMissingFromManifestIsRefused() async throws {
        try await withScratch { scratch in
            let archive = scratch + "/extra.tar.zst"
            var manifest = sampleManifest()
            manifest.files = [.init(path: "a.txt", kind: .file, size: 5)]
            try craft(archive, [.file("a.txt", contents: "hello"), .file("b.txt")], listing: .given(manifest))
            #expect(throws: BundleArchiveError.refused(entry: "b.txt", .notInManifest)) {
                try BundleArchive.extract(archive, into: scratch + "/target")
            }
        }
    }

    @Test func archiveWithoutManifestFirstIsNotABundle() async throws {
        try await withScratch { scratch in
            let archive = scratch + "/plain.tar.zst"
            try craft(archive, [.file("a.txt")], listing: .none)
            #expect(throws: BundleArchiveError.self) { try BundleArchive.readManifest(archive) }
            let error = #expect(throws: BundleArchiveError.self) {
                try BundleArchive.extract(archive, into: scratch + "/target")
            }
            if case .notABundle = error {} else { Issue.record("wrong error: \(String(describing: error))") }
            #expect(try FileSystem.names(in: scratch) == ["plain.tar.zst"])
        }
    }

    /// libarchive's own checks, behind extraction's: the disk writer will not write through a link on disk.
    @Test func diskWriterRefusesToWriteThroughALink() async throws {
        try await withScratch { scratch in
            let root = try FileSystem.resolve(scratch)
            try FileSystem.makeDirectory(root + "/target")
            try FileSystem.makeDirectory(root + "/outside")
            try FileSystem.symlink(target: root + "/outside", at: root + "/target/link")
            let disk = try DiskWriter(into: root + "/target")
            let entry = try #require(archive_entry_new())
            defer { archive_entry_free(entry) }
            archive_entry_copy_pathname(entry, root + "/target/link/evil")
            archive_entry_set_filetype(entry, dz_ae_ifreg())
            archive_entry_set_perm(entry, 0o644)
            #expect(throws: BundleArchiveError.self) { try disk.begin(entry, name: "link/evil") }
            #expect(try FileSystem.names(in: root + "/outside").isEmpty)
        }
    }

    @Test func linkTargetsAreJudgedByDepth() {
        #expect(ExtractionGuard.checkLinkTarget("lib", linkDepth: 0) == nil)
        #expect(ExtractionGuard.checkLinkTarget("../lib/x", linkDepth: 1) == nil)
        #expect(ExtractionGuard.checkLinkTarget("./../..", linkDepth: 2) == nil)
        #expect(ExtractionGuard.checkLinkTarget("..", linkDepth: 0) == .linkTargetOutside(".."))
        #expect(ExtractionGuard.checkLinkTarget("../../x", linkDepth: 1) == .linkTargetOutside("../../x"))
        #expect(ExtractionGuard.checkLinkTarget("/usr/bin/python3", linkDepth: 1)
            == .absoluteLinkTarget("/usr/bin/python3"))
        #expect(ExtractionGuard.checkLinkTarget("a/..", linkDepth: 3) == .linkTargetClimbsAfterName("a/.."))
        #expect(ExtractionGuard.checkLinkTarget("", linkDepth: 0) == .emptyLinkTarget)
    }
}

// MARK: Support

/// An entry of a crafted archive.
private enum Crafted: Sendable {
    case file(String, mode: UInt32 = 0o644, contents: String = "")
    case directory(String, mode: UInt32 = 0o755)
    case symlink(String, to: String)
    case hardLink(String, to: String)
    case device(String)

    var path: String {
        switch self {
        case .file(let path, _, _), .directory(let path, _), .symlink(let path, _), .hardLink(let path, _),
             .device(let path): path
        }
    }
}

/// What a crafted archive has for a manifest.
private enum Listing {
    /// One listing every entry whose path is relative, so that only extraction's own rules can refuse them.
    case everything
    case given(BundleManifest)
    case none
}

/// Writes `entries` to a new gzip tar with libarchive's write API, after a `MANIFEST.json` as `listing` says.
private func craft(_ path: String, _ entries: [Crafted], listing: Listing = .everything) throws {
    let archive = try #require(archive_write_new())
    defer { archive_write_free(archive) }
    #expect(archive_write_set_format_pax_restricted(archive) == ARCHIVE_OK)
    #expect(archive_write_add_filter_gzip(archive) == ARCHIVE_OK)
    try #require(archive_write_open_filename(archive, path) == ARCHIVE_OK)
    func add(_ name: String, type: UInt32, mode: UInt32, data: [UInt8] = [], link: (String, hard: Bool)? = nil) {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode)
        archive_entry_set_size(entry, Int64(data.count))
        if type == dz_ae_ifchr() {
            archive_entry_set_rdevmajor(entry, 1)
            archive_entry_set_rdevminor(entry, 3)
        }
        if let (target, hard) = link {
            if hard { archive_entry_set_hardlink(entry, target) } else { archive_entry_set_symlink(entry, target) }
        }
        #expect(archive_write_header(archive, entry) == ARCHIVE_OK, "\(name)")
        if !data.isEmpty { _ = data.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) } }
    }
    var manifest: BundleManifest?
    switch listing {
    case .none: manifest = nil
    case .given(let given): manifest = given
    case .everything:
        var seen: Set<String> = []
        manifest = sampleManifest()
        manifest?.files = entries.map { crafted in
                switch crafted {
                case .file(let path, _, let contents):
                    .init(path: path, kind: .file, size: Int64(contents.utf8.count))
                case .directory(let path, _): .init(path: path, kind: .directory)
                case .symlink(let path, let target): .init(path: path, kind: .symlink, target: target)
                case .hardLink(let path, _), .device(let path): .init(path: path, kind: .file)
                }
            }.filter { entry in
                guard case .relative = EntryPath.parse(entry.path) else { return false }
                return seen.insert(entry.path).inserted
            }
    }
    if let manifest { add(BundleManifest.fileName, type: dz_ae_ifreg(), mode: 0o644, data: manifest.serialized()) }
    for crafted in entries {
        switch crafted {
        case .file(let path, let mode, let contents):
            add(path, type: dz_ae_ifreg(), mode: mode, data: Array(contents.utf8))
        case .directory(let path, let mode): add(path, type: dz_ae_ifdir(), mode: mode)
        case .symlink(let path, let target): add(path, type: dz_ae_iflnk(), mode: 0o777, link: (target, false))
        case .hardLink(let path, let target): add(path, type: dz_ae_ifreg(), mode: 0o644, link: (target, true))
        case .device(let path): add(path, type: dz_ae_ifchr(), mode: 0o666)
        }
    }
    try #require(archive_write_close(archive) == ARCHIVE_OK)
}

private func sampleManifest() -> BundleManifest {
    BundleManifest(
        name: "bundle_shop_2026-11-29-01.02.03", project: "shop", codeRevision: "0123456789abcdef0123456789abcdef01234567",
        pythonVersion: "3.11.2", djangoVersion: "5.1.4", created: Timestamp(rfc3339: "2026-11-29T01:02:03.5Z")!)
}

/// A build directory with nested directories, an executable, links, an empty file and directory, a 5 MiB file,
/// a non-ASCII name and a FIFO (which the archive leaves out).
private func makeSampleTree(_ root: String) throws {
    func write(_ path: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
    }
    try write("code/app/models.py", Array("from django.db import models\n".utf8))
    try write("code/app/sub/deep/x.txt", Array("deep\n".utf8))
    try write("code/café.txt", Array("non-ASCII name\n".utf8))
    try write("bin/run.sh", Array("#!/bin/sh\necho run\n".utf8), mode: 0o755)
    try write("lib/site.py", Array("# site\n".utf8))
    try write("empty.txt", [])
    try write("data/big.bin", pseudoRandomBytes(5 << 20, seed: 5))
    try FileSystem.symlink(target: "run.sh", at: root + "/bin/run")
    try FileSystem.symlink(target: "lib", at: root + "/lib64")
    try FileSystem.makeDirectories(root + "/media")
    try FileSystem.makeDirectories(root + "/run")
    #expect(mkfifo(root + "/run/fifo", 0o644) == 0)
}

private func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

private func permissions(_ path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}

private func sha256sum(_ path: String) async throws -> String {
    let outcome = try await Subprocess.run(["sha256sum", "--", path], timeout: 60)
    try #require(outcome.succeeded, "\(outcome.tail())")
    return String(outcome.stdoutText.prefix(64))
}

/// Runs `body` in a new temporary directory, removed afterwards.
private func withScratch(_ body: (String) async throws -> Void) async throws {
    let scratch = FileManager.default.temporaryDirectory.path + "/dz-bundle-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    try await body(scratch)
}
