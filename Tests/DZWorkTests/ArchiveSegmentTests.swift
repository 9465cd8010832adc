@testable import DZBundle
import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A graft's part of an archive kept in a segment file (`ArchiveSegment`) and copied into later archives: the same
/// manifest as an archive written from the files, the frame copied as it is, every reader taking the result, and a
/// segment that is damaged or made from another directory never used.
@Suite struct ArchiveSegmentTests {
    @Test func keptSegmentGivesTheManifestOfTheFilesAndItsFrameIsCopiedUnread() async throws {
        try await withLab { lab in
            let plain = try lab.archive("plain", segments: false)
            let making = try lab.archive("making")
            #expect(making.files == plain.files && making.skipped == plain.skipped,
                    "the manifest is the one an archive without segments has")
            #expect(making.skipped.contains { $0.path == "venv/run/fifo" }, "the graft's skipped entries are listed")
            #expect(try permissions(lab.segment) == 0o600, "the segment is its writer's alone")

            // The graft's files are not read again: a file changed under the same directory (which a cached
            // virtualenv never is) still has its first SHA-256 and content in the next archive.
            try FileIO.replace(lab.graft + "/lib/site-packages/pkg/mod.py", bytes: Array("changed!!\n".utf8),
                              mode: 0o644, sync: false)
            let copied = try lab.archive("copied")
            #expect(copied.files == plain.files && copied.skipped == plain.skipped)
            #expect(copied.archiveSHA256 == making.archiveSHA256,
                    "the archive that copies the segment is the one that made it, byte for byte")

            // The segment's frame is in the archive as it is.
            let segment = try FileIO.readAll(lab.segment)
            let kept = try #require(ArchiveSegment.open(lab.segment, for: lab.key()))
            defer { kept.close() }
            let frame = Array(segment[0..<Int(kept.frameSize)])
            let archive = try FileIO.readAll(lab.path("copied"))
            #expect(archive.count > frame.count + 100)
            #expect(contains(archive, frame), "the archive holds the segment's frame")
        }
    }

    @Test func manifestBytesAreTheSerializedManifestWhicheverWayTheyAreMade() async throws {
        try await withLab { lab in
            for (name, segments) in [("plain", false), ("making", true), ("copied", true)] {
                let manifest = try lab.archive(name, segments: segments)
                #expect(try FileIO.readAll(BundleArchive.manifestPath(for: lab.path(name))) == manifest.serialized(),
                        "\(name): the manifest beside the archive")
                let out = lab.root + "/out-" + name
                _ = try BundleArchive.extract(lab.path(name), into: out)
                #expect(try FileIO.readAll(out + "/" + BundleManifest.fileName) == manifest.inner.serialized(),
                        "\(name): the manifest inside the archive")
            }
        }
    }

    @Test func manifestWithItsFilesSerializedAlreadyIsTheSameBytes() throws {
        var manifest = BundleManifest(
            name: "bundle_shop_2026-11-29-01.02.03", project: "shop", codeRevision: "abc",
            pythonVersion: "3.11.2", djangoVersion: #"5.1 "files":[],"format":9"#, created: Timestamp(rfc3339: "2026-11-29T01:02:03.5Z")!)
        for files in [[], [BundleManifest.Entry(path: "a", kind: .directory)],
                      [.init(path: "a", kind: .directory), .init(path: "a/\"files\":[]", kind: .file, size: 3, executable: true,
                                                                  sha256: String(repeating: "b", count: 64)),
                       .init(path: "a/l", kind: .symlink, target: "x\ny")]] {
            manifest.files = files
            manifest.skipped = [.init(path: #"run/"files":[]"#, reason: "a FIFO")]
            #expect(manifest.serialized(filesJSON: BundleManifest.Entry.serialized(files)) == manifest.serialized())
            let inner = manifest.inner.serialized()
            var final = manifest
            final.archiveSHA256 = String(repeating: "c", count: 64)
            final.archiveSize = 12345
            #expect(BundleManifest.beside(inner: inner, sha256: final.archiveSHA256!, size: 12345) == final.serialized())
        }
    }

    @Test func archiveOfSeveralFramesIsReadWholeByExtractionAndByTar() async throws {
        try await withLab { lab in
            _ = try lab.archive("making")
            let manifest = try lab.archive("copied")
            let out = lab.root + "/out"
            #expect(try BundleArchive.extract(lab.path("copied"), into: out) == manifest.inner,
                    "every entry is read and agrees with the manifest")
            #expect(try FileIO.readAll(out + "/venv/lib/site-packages/pkg/mod.py") == Array("print('hi')\n".utf8))
            #expect(try FileSystem.readLink(out + "/venv/lib64") == "lib")
            #expect(!FileSystem.exists(out + "/venv/bin/python"), "the omitted link stays out")
            #expect(try FileIO.readAll(out + "/zz/after.txt") == Array("after the graft\n".utf8))

            // The shared-venv extraction (venv/ left out, reading stopped early) and the proxy's (static/ only).
            let noVenv = lab.root + "/no-venv"
            _ = try BundleArchive.extract(lab.path("copied"), into: noVenv) { _ in ["venv"] }
            #expect(try FileSystem.names(in: noVenv).sorted() == [BundleManifest.fileName, "src", "static", "zz"])
            let staticOnly = lab.root + "/static-only"
            _ = try BundleArchive.extract(lab.path("copied"), into: staticOnly, only: ["static"])
            #expect(try FileIO.readAll(staticOnly + "/static/site.css") == Array("body {}\n".utf8))
            #expect(try BundleArchive.readManifest(lab.path("copied")) == manifest.inner)

            guard FileSystem.exists("/usr/bin/tar"), FileSystem.exists("/usr/bin/zstd") else { return }
            let listing = try await Subprocess.run(["/usr/bin/tar", "--zstd", "-tf", lab.path("copied")], timeout: 60)
            #expect(listing.succeeded, "\(listing.tail())")
            let names = listing.stdoutText.split(separator: "\n").map { String($0).hasSuffix("/") ? String($0.dropLast()) : String($0) }
            #expect(names == [BundleManifest.fileName] + manifest.files.map(\.path), "tar reads every entry in order")
            let test = try await Subprocess.run(["/usr/bin/zstd", "-t", "-q", lab.path("copied")], timeout: 60)
            #expect(test.succeeded, "\(test.tail())")
        }
    }

    enum Damage: String, CaseIterable, Sendable {
        case frameByte, headerByte, footer, truncated, emptied, garbage
    }

    @Test(arguments: Damage.allCases)
    func damagedSegmentIsDroppedAndTheArchiveWrittenFromTheFiles(_ damage: Damage) async throws {
        try await withLab { lab in
            let plain = try lab.archive("plain", segments: false)
            let making = try lab.archive("making")
            var bytes = try FileIO.readAll(lab.segment)
            let kept = try #require(ArchiveSegment.open(lab.segment, for: lab.key()))
            let frameSize = Int(kept.frameSize)
            kept.close()
            switch damage {
            case .frameByte: bytes[frameSize / 2] ^= 0x01
            case .headerByte: bytes[frameSize + 20] ^= 0x01
            case .footer: bytes[bytes.count - 3] ^= 0x01
            case .truncated: bytes.removeLast(bytes.count / 2)
            case .emptied: bytes = []
            case .garbage: bytes = Array(repeating: 0x41, count: 4096)
            }
            try FileIO.replace(lab.segment, bytes: bytes, mode: 0o600, sync: false)
            // The files changed since the segment was made: only an archive written from them has this content.
            try FileIO.replace(lab.graft + "/lib/site-packages/pkg/mod.py", bytes: Array("print('yo')\n".utf8),
                              mode: 0o644, sync: false)
            let rewritten = try lab.archive("rewritten")
            let changed = try #require(rewritten.files.first { $0.path == "venv/lib/site-packages/pkg/mod.py" })
            #expect(changed.sha256 == SHA256Digest.hash(Array("print('yo')\n".utf8)))
            #expect(rewritten.files.map(\.path) == plain.files.map(\.path))
            #expect(rewritten.archiveSHA256 != making.archiveSHA256)
            let out = lab.root + "/out"
            #expect(try BundleArchive.extract(lab.path("rewritten"), into: out) == rewritten.inner)
            // The damaged segment was replaced by one made with the new archive, which the next one copies.
            let again = try lab.archive("again")
            #expect(again.archiveSHA256 == rewritten.archiveSHA256)
        }
    }

    @Test func segmentOfAnotherDirectoryIsNotUsed() async throws {
        try await withLab { lab in
            let making = try lab.archive("making")
            // The virtualenv made again under the same name: a new directory, whatever its files.
            try FileManager.default.moveItem(atPath: lab.graft, toPath: lab.root + "/old-graft")
            try lab.makeGraft(module: "print('new')\n")
            let other = try lab.archive("other")
            #expect(other.files.first { $0.path == "venv/lib/site-packages/pkg/mod.py" }?.sha256
                == SHA256Digest.hash(Array("print('new')\n".utf8)))
            #expect(other.archiveSHA256 != making.archiveSHA256)
            let kept = ArchiveSegment.open(lab.segment, for: try lab.key())
            #expect(kept != nil, "the segment is the new directory's now")
            kept?.close()
        }
    }

    @Test func limitsCountAKeptSegmentsEntries() async throws {
        try await withLab { lab in
            let making = try lab.archive("making")
            let entries = making.files.count
            let bytes = making.files.reduce(Int64(0)) { $0 + $1.size }
            let venvBytes = making.files.filter { $0.path.hasPrefix("venv/") }.reduce(Int64(0)) { $0 + $1.size }
            #expect(venvBytes > 0)
            #expect(throws: BundleArchiveError.tooManyEntries(count: entries, limit: entries - 1)) {
                try lab.archive("few-names", limits: .init(maxEntries: entries - 1))
            }
            #expect(throws: BundleArchiveError.tooLarge(bytes: bytes, limit: bytes - 1)) {
                try lab.archive("few-bytes", limits: .init(maxBytes: bytes - 1))
            }
            #expect(!FileSystem.exists(lab.path("few-names")) && !FileSystem.exists(lab.path("few-bytes")))
            #expect(try lab.archive("within", limits: .init(maxBytes: bytes, maxEntries: entries)).files == making.files)
        }
    }

    @Test func segmentIsKeptOnlyForTheSameOmittedLinksAndHashing() async throws {
        try await withLab { lab in
            _ = try lab.archive("making")
            let unhashed = try lab.archive("unhashed", hashFiles: false)
            #expect(unhashed.files.allSatisfy { $0.sha256 == nil })
            _ = try lab.archive("hashed")
            let otherLinks = try BundleArchive.create(
                from: lab.tree, to: lab.path("other-links"), manifest: lab.manifest,
                omittingLinks: ["venv/bin/python", "venv/lib64"], grafts: ["venv": lab.graft],
                segments: ["venv": lab.segment])
            #expect(!otherLinks.files.contains { $0.path == "venv/lib64" }, "the segment of other omitted links is not used")
            #expect(otherLinks.files.count == unhashed.files.count - 1)
        }
    }
}

/// A build tree with code, static files and a name after `venv`, a graft standing for a cached virtualenv, and
/// where its segment is kept.
private struct Lab {
    let root: String
    var tree: String { root + "/build" }
    var graft: String { root + "/cache/venvs/0123" }
    var segment: String { root + "/cache/venvs/0123.segment" }
    let manifest = BundleManifest(
        name: "bundle_shop_2026-11-29-01.02.03", project: "shop", codeRevision: "0123456789abcdef0123456789abcdef01234567",
        pythonVersion: "3.11.2", djangoVersion: "5.1.4", created: Timestamp(rfc3339: "2026-11-29T01:02:03.5Z")!)

    func path(_ name: String) -> String { root + "/" + name + ".tar.zst" }

    func makeTree() throws {
        try write(tree + "/src/app/views.py", "def index(request): pass\n")
        try write(tree + "/static/site.css", "body {}\n")
        try write(tree + "/zz/after.txt", "after the graft\n")
        try FileSystem.makeDirectories(tree + "/venv")
    }

    func makeGraft(module: String = "print('hi')\n") throws {
        try write(graft + "/pyvenv.cfg", "home = /usr/bin\n")
        try write(graft + "/lib/site-packages/pkg/mod.py", module)
        try write(graft + "/lib/site-packages/pkg/data.bin", String(repeating: "0123456789abcdef", count: 40_000))
        try write(graft + "/bin/tool", "#!/bin/sh\n", mode: 0o755)
        for index in 0..<300 { try write(graft + "/lib/site-packages/many/f\(index).py", "x = \(index)\n") }
        try FileSystem.symlink(target: "/usr/bin/python3", at: graft + "/bin/python")
        try FileSystem.symlink(target: "lib", at: graft + "/lib64")
        try FileSystem.makeDirectories(graft + "/run")
        #expect(mkfifo(graft + "/run/fifo", 0o644) == 0)
    }

    func key(hashed: Bool = true) throws -> ArchiveSegment.Key {
        ArchiveSegment.Key(graft: "venv", source: ArchiveSegment.Key.source(try FileSystem.linkStatus(graft)),
                           omitted: ["venv/bin/python"], hashed: hashed)
    }

    func archive(_ name: String, segments: Bool = true, hashFiles: Bool = true, limits: BundleArchive.Limits = .none)
        throws(BundleArchiveError) -> BundleManifest
    {
        try BundleArchive.create(from: tree, to: path(name), manifest: manifest, hashFiles: hashFiles, limits: limits,
                                 omittingLinks: ["venv/bin/python"], grafts: ["venv": graft],
                                 segments: segments ? ["venv": segment] : [:])
    }

    private func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        try FileSystem.makeDirectories(BundleArchive.parent(of: path))
        try FileIO.create(path, bytes: Array(text.utf8), mode: mode, sync: false)
    }
}

private func withLab(_ body: (Lab) async throws -> Void) async throws {
    var template = Array("/tmp/dz-segment-XXXXXX".utf8CString)
    let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: root) }
    let lab = Lab(root: root)
    try lab.makeTree()
    try lab.makeGraft()
    try await body(lab)
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    let first = needle[0]
    var index = 0
    while index <= haystack.count - needle.count {
        if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return true }
        index += 1
    }
    return false
}

private func permissions(_ path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}

/// The archive step alone on a real virtualenv (`DZ_ARCHIVE_VENV`, e.g. a `venvs/<key>` that `dz bench --deploy
/// --spool DIR` left), written from the files, then making its segment, then copying it: the manifests agree and
/// the seconds of each are printed (never judged).
@Suite struct ArchiveSegmentProbe {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DZ_ARCHIVE_VENV"] != nil))
    func realVirtualenvArchivedFromItsFilesAndFromItsSegment() async throws {
        let venv = try #require(ProcessInfo.processInfo.environment["DZ_ARCHIVE_VENV"])
        try await withLab { lab in
            let omitted: Set = ["venv/bin/python", "venv/bin/python3", "venv/bin/python3.11"]
            let segment = lab.root + "/venv.segment"
            func archive(_ name: String, segments: Bool) throws -> (BundleManifest, Double) {
                let start = Timestamp.now()
                let made = try BundleArchive.create(from: lab.tree, to: lab.path(name), manifest: lab.manifest,
                                                    omittingLinks: omitted, grafts: ["venv": venv],
                                                    segments: segments ? ["venv": segment] : [:])
                return (made, Timestamp.now() - start)
            }
            let (plain, plainSeconds) = try archive("plain", segments: false)
            let (making, makingSeconds) = try archive("making", segments: true)
            var copies: [Double] = []
            for index in 0..<3 {
                let (copied, seconds) = try archive("copied\(index)", segments: true)
                #expect(copied.files == plain.files && copied.skipped == plain.skipped)
                #expect(copied.archiveSHA256 == making.archiveSHA256)
                copies.append(seconds)
            }
            #expect(making.files == plain.files && making.skipped == plain.skipped)
            _ = try BundleArchive.extract(lab.path("copied0"), into: lab.root + "/out")
            print("archive of \(plain.files.count) entries, \(plain.archiveSize ?? 0) bytes: from the files "
                  + "\(plainSeconds) s, making the segment \(makingSeconds) s, copying it \(copies) s")
        }
    }
}
