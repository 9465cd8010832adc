#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem
@testable import DZWork
import Foundation
import DZTestSupport
import Testing
@testable import DZBundle

/// Bundle storage: key and location rules, the directory store on a temporary directory, and the S3 store against a
/// real `moto_server` checking SigV4 signatures (see `S3Emulator`).
@Suite struct BundleStoreTests {
    // MARK: - Keys and locations

    @Test func keysWithDotDotAndOtherEscapesAreRefused() async throws {
        for key in ["../etc/passwd", "shop/../../x", "a..b", "/abs/olute", "shop//x", "shop/", ".hidden",
                    "shop/.tmp", "x.tar.gz.sha256", "with space", "tab\t", "ünïcode", "semi;colon", "",
                    String(repeating: "a", count: 1025)]
        {
            #expect(throws: BundleStoreError.self, "\(key)") { try StorageKey.validate(key) }
        }
        for key in ["bundle_shop_2024-05-01-12.00.00.tar.gz", "shop/bundle.tar.gz", "a/b/c-d_e.f"] {
            #expect(throws: Never.self) { try StorageKey.validate(key) }
        }
        #expect(throws: Never.self) { try StorageKey.validatePrefix("") }
        #expect(throws: Never.self) { try StorageKey.validatePrefix("shop/") }
        #expect(throws: BundleStoreError.self) { try StorageKey.validatePrefix("../") }

        // Refused before anything is touched, by both stores.
        try await FixtureSupport.withScratchDirectory { scratch in
            let directory = DirectoryStore(root: scratch + "/store")
            let s3 = S3Store(location: try S3Location(bucket: "dz-bundles", endpoint: "http://127.0.0.1:9",
                                                      credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b")))
            let file = scratch + "/file"
            try Data("x".utf8).write(to: URL(fileURLWithPath: file))
            for store in [directory as any BundleStore, s3] {
                await #expect(throws: BundleStoreError.invalidKey("../escape", reason: "contains ..")) {
                    try await store.put(file: file, key: "../escape")
                }
                await #expect(throws: BundleStoreError.self) {
                    try await store.get(key: "a/../../b", to: scratch + "/out", expectedSHA256: nil)
                }
                await #expect(throws: BundleStoreError.self) { try await store.delete(key: "/etc/passwd") }
            }
            #expect(!FileSystem.exists(scratch + "/escape"))
        }
    }

    @Test func fileAndS3LocationsParse() throws {
        #expect(try StorageLocation("file:///var/lib/dz/bundles", environment: [:]) == .directory("/var/lib/dz/bundles"))
        #expect(try StorageLocation("file:///srv/b/", environment: [:]) == .directory("/srv/b"))
        #expect(try StorageLocation(StorageLocation.defaultURL, environment: [:]).url == StorageLocation.defaultURL)
        #expect(throws: BundleStoreError.self) { try StorageLocation("file://otherhost/x", environment: [:]) }
        #expect(throws: BundleStoreError.self) { try StorageLocation("file:///srv/../etc", environment: [:]) }
        #expect(throws: BundleStoreError.self) { try StorageLocation("ftp://x/y", environment: [:]) }

        let environment = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
                           "AWS_SESSION_TOKEN": "env-token", "AWS_DEFAULT_REGION": "eu-west-1",
                           "AWS_ENDPOINT_URL": "http://127.0.0.1:9000/"]
        guard case .s3(let fromEnvironment) = try StorageLocation("s3://dz-bundles/prod/bundles/",
                                                                  environment: environment)
        else { Issue.record("not an S3 location"); return }
        #expect(fromEnvironment.bucket == "dz-bundles")
        #expect(fromEnvironment.prefix == "prod/bundles")
        #expect(fromEnvironment.endpoint == "http://127.0.0.1:9000")
        #expect(fromEnvironment.region == "eu-west-1")
        #expect(fromEnvironment.credentials == S3Credentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret",
                                                             sessionToken: "env-token"))
        #expect(fromEnvironment.url == "s3://dz-bundles/prod/bundles")
        #expect(fromEnvironment.httpURL(objectKey: "prod/bundles/x.tar.gz")
            == "http://127.0.0.1:9000/dz-bundles/prod/bundles/x.tar.gz")

        // Explicit configuration wins over the environment; AWS_REGION over AWS_DEFAULT_REGION.
        let explicit = S3Options(endpoint: "https://s3.example.net", region: "us-west-2",
                                 credentials: S3Credentials(accessKeyID: "AKIACONF", secretAccessKey: "conf-secret"))
        guard case .s3(let configured) = try StorageLocation("s3://dz-bundles", s3: explicit, environment: environment)
        else { Issue.record("not an S3 location"); return }
        #expect(configured.credentials.accessKeyID == "AKIACONF")
        #expect(configured.credentials.sessionToken == nil)
        #expect(configured.endpoint == "https://s3.example.net")
        #expect(configured.region == "us-west-2")
        #expect(configured.prefix == "")
        guard case .s3(let aws) = try StorageLocation("s3://dz-bundles/p", environment: [
            "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_REGION": "ap-south-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
        ]) else { Issue.record("not an S3 location"); return }
        #expect(aws.region == "ap-south-1")
        #expect(aws.httpURL(objectKey: "p/k") == "https://dz-bundles.s3.ap-south-1.amazonaws.com/p/k")

        #expect(throws: BundleStoreError.self) { try StorageLocation("s3://dz-bundles/p", environment: [:]) }
        for bad in ["s3://ab", "s3://Upper", "s3://-dash", "s3://a..b", "s3://192.168.0.1", "s3://under_score",
                    "s3://dz-bundles/../x", "s3://dz-bundles/a b"]
        {
            #expect(throws: BundleStoreError.self, "\(bad)") { try StorageLocation(bad, environment: environment) }
        }
        #expect(throws: BundleStoreError.self) {
            try StorageLocation("s3://dz-bundles", s3: S3Options(endpoint: "ftp://x"), environment: environment)
        }
        #expect(throws: BundleStoreError.self) {
            try StorageLocation("s3://dz-bundles", s3: S3Options(transfer: S3TransferSettings(partSize: 1 << 20)),
                                environment: environment)
        }
    }

    @Test func queryIsEncodedTheWaySigV4SignsIt() {
        // curl 7.88 signs the query exactly as given: it must already be SigV4's canonical form.
        #expect(S3Location.canonicalQuery([("prefix", "shop/b 1+"), ("list-type", "2"), ("uploads", "")])
            == "list-type=2&prefix=shop%2Fb%201%2B&uploads=")
        #expect(S3Location.canonicalQuery([("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")])
            == "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D")
        #expect(S3Location.uriEncode("a-b_c.d~e") == "a-b_c.d~e")
    }

    @Test func secretsNeverAppearInDescriptionsOrErrors() throws {
        let credentials = S3Credentials(accessKeyID: "AKIAVISIBLE", secretAccessKey: "very-secret-value",
                                        sessionToken: "session-token-value")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(!text.contains("very-secret-value"))
            #expect(!text.contains("session-token-value"))
        }
        let location = try S3Location(bucket: "dz-bundles", credentials: credentials)
        var dumpedLocation = ""
        dump(location, to: &dumpedLocation)
        #expect(!dumpedLocation.contains("very-secret-value"))
    }

    // MARK: - Directory store

    @Test func directoryStorePutsGetsHeadsListsAndDeletes() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let store = DirectoryStore(root: scratch + "/bundles")
            let source = scratch + "/bundle.tar.gz"
            try writeRandomFile(source, size: 3 << 20 + 123)
            let sha256 = try SHA256Digest.file(at: source)

            let stored = try await store.put(file: source, key: "shop/bundle_shop_1.tar.gz")
            #expect(stored == StoredObject(key: "shop/bundle_shop_1.tar.gz", size: 3 << 20 + 123, sha256: sha256,
                                           url: "file://\(scratch)/bundles/shop/bundle_shop_1.tar.gz"))
            #expect(try String(contentsOfFile: scratch + "/bundles/shop/bundle_shop_1.tar.gz.sha256", encoding: .utf8)
                == sha256 + "\n")
            _ = try await store.put(file: source, key: "shop/bundle_shop_2.tar.gz")
            _ = try await store.put(file: source, key: "blog/bundle_blog_1.tar.gz")
            #expect(try await store.head(key: "shop/bundle_shop_1.tar.gz") == stored)
            #expect(try await store.head(key: "shop/none.tar.gz") == nil)

            #expect(try await store.list().map(\.key)
                == ["blog/bundle_blog_1.tar.gz", "shop/bundle_shop_1.tar.gz", "shop/bundle_shop_2.tar.gz"])
            #expect(try await store.list(prefix: "shop/").map(\.key)
                == ["shop/bundle_shop_1.tar.gz", "shop/bundle_shop_2.tar.gz"])
            #expect(try await store.list(prefix: "shop/bundle_shop_2").map(\.key) == ["shop/bundle_shop_2.tar.gz"])
            #expect(try await store.list(prefix: "sh").count == 2)
            #expect(try await store.list(prefix: "nothing/").isEmpty)

            let fetched = try await store.get(key: "shop/bundle_shop_1.tar.gz", to: scratch + "/fetched.tar.gz",
                                              expectedSHA256: sha256)
            #expect(fetched.sha256 == sha256)
            #expect(try SHA256Digest.file(at: scratch + "/fetched.tar.gz") == sha256)

            try await store.delete(key: "shop/bundle_shop_1.tar.gz")
            try await store.delete(key: "shop/bundle_shop_1.tar.gz")
            #expect(try await store.head(key: "shop/bundle_shop_1.tar.gz") == nil)
            #expect(!FileSystem.exists(scratch + "/bundles/shop/bundle_shop_1.tar.gz.sha256"))
            #expect(try await store.list(prefix: "shop/").map(\.key) == ["shop/bundle_shop_2.tar.gz"])
            // Nothing but objects and their checksums was left behind.
            #expect(try FileSystem.names(in: scratch + "/bundles/shop").sorted()
                == ["bundle_shop_2.tar.gz", "bundle_shop_2.tar.gz.sha256"])
        }
    }

    @Test func directoryStoreLinksAFileOfItsOwnFileSystemAndGroupAndCopiesAnotherGroups() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let store = DirectoryStore(root: scratch + "/bundles")
            let source = scratch + "/bundle.tar.zst"
            try writeRandomFile(source, size: 2 << 20 + 7)
            try FileSystem.setMode(source, 0o600)
            let sha256 = try SHA256Digest.file(at: source)
            let stored = try await store.put(file: source, key: "shop/bundle_shop_1.tar.zst")
            #expect(stored.sha256 == sha256 && stored.size == 2 << 20 + 7)
            let object = try FileSystem.linkStatus(scratch + "/bundles/shop/bundle_shop_1.tar.zst")
            let original = try FileSystem.linkStatus(source)
            #expect(object.inode == original.inode && object.linkCount == 2, "one file under two names, no copy")
            #expect(object.permissions == 0o640, "readable by the store's group")
            #expect(try String(contentsOfFile: scratch + "/bundles/shop/bundle_shop_1.tar.zst.sha256", encoding: .utf8)
                == sha256 + "\n")
            // Its build host removing its own name leaves the object whole.
            try FileSystem.unlink(source)
            #expect(try SHA256Digest.file(at: scratch + "/bundles/shop/bundle_shop_1.tar.zst") == sha256)
            let fetched = try await store.get(key: "shop/bundle_shop_1.tar.zst", to: scratch + "/fetched",
                                              expectedSHA256: sha256)
            #expect(fetched.sha256 == sha256)
            #expect(try FileSystem.linkStatus(scratch + "/fetched").inode != object.inode, "a fetch is a copy")

            // A file whose group the store's readers are not in is copied, so that the object gets the store's.
            guard getuid() == 0 else { return }
            let other = scratch + "/other.tar.zst"
            try writeRandomFile(other, size: 1 << 20)
            #expect(chown(other, 0, 65534) == 0)
            _ = try await store.put(file: other, key: "shop/bundle_shop_2.tar.zst")
            let copied = try FileSystem.linkStatus(scratch + "/bundles/shop/bundle_shop_2.tar.zst")
            #expect(copied.inode != (try FileSystem.linkStatus(other)).inode && copied.linkCount == 1)
            #expect(copied.group == (try FileSystem.status(scratch + "/bundles/shop")).group)
        }
    }

    @Test func directoryStoreDetectsACorruptedDownloadAndAMissingKey() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let store = DirectoryStore(root: scratch + "/bundles")
            let source = scratch + "/bundle.tar.gz"
            try writeRandomFile(source, size: 100_000)
            let stored = try await store.put(file: source, key: "shop/b.tar.gz")
            let target = scratch + "/out/b.tar.gz"
            try FileSystem.makeDirectories(scratch + "/out")

            let wrong = String(repeating: "0", count: 64)
            await #expect(throws: BundleStoreError.checksumMismatch(key: "shop/b.tar.gz", expected: wrong,
                                                                    actual: stored.sha256!)) {
                try await store.get(key: "shop/b.tar.gz", to: target, expectedSHA256: wrong)
            }
            // The object changed on disk behind the store's back: its recorded checksum no longer matches.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/bundles/shop/b.tar.gz"))
            try handle.seek(toOffset: 500)
            try handle.write(contentsOf: Data([0xFF, 0x00, 0xFF]))
            try handle.close()
            await #expect(throws: BundleStoreError.self) {
                try await store.get(key: "shop/b.tar.gz", to: target, expectedSHA256: nil)
            }
            // Neither the target nor a temporary file is left behind.
            #expect(try FileSystem.names(in: scratch + "/out").isEmpty)

            await #expect(throws: BundleStoreError.notFound(key: "shop/none.tar.gz")) {
                try await store.get(key: "shop/none.tar.gz", to: target, expectedSHA256: nil)
            }
            try await store.delete(key: "shop/none.tar.gz")
        }
    }

    // MARK: - S3 store against moto_server

    @Test func s3StoreRoundTripsWithSignaturesChecked() async throws {
        try await S3Emulator.withEmulator { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                let store = try emulator.store(prefix: "prod/bundles")
                let source = scratch + "/bundle.tar.gz"
                try writeRandomFile(source, size: 2 << 20 + 7)
                let sha256 = try SHA256Digest.file(at: source)

                let stored = try await store.put(file: source, key: "shop/bundle_shop_1.tar.gz")
                #expect(stored == StoredObject(key: "shop/bundle_shop_1.tar.gz", size: 2 << 20 + 7, sha256: sha256,
                                               url: "s3://dz-bundles-test/prod/bundles/shop/bundle_shop_1.tar.gz"))
                #expect(try await store.head(key: "shop/bundle_shop_1.tar.gz") == stored)
                #expect(try await store.head(key: "shop/none.tar.gz") == nil)

                let target = scratch + "/fetched/bundle.tar.gz"
                try FileSystem.makeDirectories(scratch + "/fetched")
                let fetched = try await store.get(key: "shop/bundle_shop_1.tar.gz", to: target)
                #expect(fetched == stored)
                #expect(try SHA256Digest.file(at: target) == sha256)
                _ = try await store.get(key: "shop/bundle_shop_1.tar.gz", to: target, expectedSHA256: sha256)

                await #expect(throws: BundleStoreError.notFound(key: "shop/none.tar.gz")) {
                    try await store.get(key: "shop/none.tar.gz", to: scratch + "/fetched/none", expectedSHA256: nil)
                }
                try await store.delete(key: "shop/bundle_shop_1.tar.gz")
                #expect(try await store.head(key: "shop/bundle_shop_1.tar.gz") == nil)
                try await store.delete(key: "shop/bundle_shop_1.tar.gz")
                #expect(try FileSystem.names(in: scratch + "/fetched") == ["bundle.tar.gz"])
            }
        }
    }

    @Test func s3StoreListsPageByPage() async throws {
        try await S3Emulator.withEmulator { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                // No store prefix and no '/' in the list prefix: moto's signature check mishandles an encoded '/'
                // in the query (see s3StorePrefixIsStrippedFromListings).
                let store = try emulator.store(transfer: S3TransferSettings(listPageSize: 2))
                let source = scratch + "/small"
                try writeRandomFile(source, size: 1000)
                let keys = ["blog/b1.tar.gz", "shop/s1.tar.gz", "shop/s2.tar.gz", "shop/s3.tar.gz", "shopx/x.tar.gz"]
                for key in keys { _ = try await store.put(file: source, key: key) }

                let all = try await store.list()
                #expect(all.map(\.key) == keys)
                #expect(all.allSatisfy { $0.size == 1000 && $0.url == "s3://dz-bundles-test/\($0.key)" })
                #expect(try await store.list(prefix: "shop").map(\.key) == Array(keys[1...]))
                #expect(try await store.list(prefix: "nothing").isEmpty)
            }
        }
    }

    /// moto (5.x) checks signatures against the query string after werkzeug has decoded `%2F` back to `/`, so a
    /// correctly signed ListObjectsV2 whose prefix holds a `/` fails its check (getmoto/moto#5948), while AWS and
    /// strict servers require the `%2F`. Listing under a store prefix is therefore tested with moto's signature
    /// check off; the encoding itself is tested in `queryIsEncodedTheWaySigV4SignsIt`.
    @Test func s3StorePrefixIsStrippedFromListings() async throws {
        try await S3Emulator.withEmulator(checkingSignatures: false) { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                let store = try emulator.store(prefix: "prod/bundles")
                let other = try emulator.store(prefix: "staging")
                let source = scratch + "/small"
                try writeRandomFile(source, size: 10)
                _ = try await store.put(file: source, key: "shop/s1.tar.gz")
                _ = try await store.put(file: source, key: "blog/b1.tar.gz")
                _ = try await other.put(file: source, key: "shop/s9.tar.gz")
                #expect(try await store.list().map(\.key) == ["blog/b1.tar.gz", "shop/s1.tar.gz"])
                #expect(try await store.list(prefix: "shop/").map(\.url)
                    == ["s3://dz-bundles-test/prod/bundles/shop/s1.tar.gz"])
                #expect(try await other.list().map(\.key) == ["shop/s9.tar.gz"])
            }
        }
    }

    @Test func s3MultipartUploadOf40MiBRoundTripsAndACorruptedDownloadIsCaught() async throws {
        try await S3Emulator.withEmulator { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                let store = try emulator.store(
                    prefix: "big", transfer: S3TransferSettings(multipartThreshold: 1 << 20, partSize: 5 << 20))
                let source = scratch + "/big.tar.gz"
                let size: Int64 = 40 << 20 + 4321
                try writeRandomFile(source, size: Int(size))
                let sha256 = try SHA256Digest.file(at: source)

                let stored = try await store.put(file: source, key: "shop/big.tar.gz")
                #expect(stored.size == size)
                #expect(stored.sha256 == sha256)
                let head = try #require(try await store.head(key: "shop/big.tar.gz"))
                #expect(head.size == size)
                #expect(head.sha256 == sha256)
                // A multipart object's ETag ends with its number of parts: 40 MiB and a bit in 5 MiB parts is 9.
                let raw = try await store.send(.head, "HEAD", objectKey: "big/shop/big.tar.gz")
                #expect(raw.headers["etag"]?.hasSuffix("-9\"") == true, "\(raw.headers)")

                let target = scratch + "/back/big.tar.gz"
                try FileSystem.makeDirectories(scratch + "/back")
                let fetched = try await store.get(key: "shop/big.tar.gz", to: target, expectedSHA256: sha256)
                #expect(fetched.size == size)
                #expect(try SHA256Digest.file(at: target) == sha256)

                // A download that does not have the expected checksum is deleted, never renamed into place.
                try FileSystem.unlink(target)
                let wrong = String(repeating: "a", count: 64)
                await #expect(throws: BundleStoreError.checksumMismatch(key: "shop/big.tar.gz", expected: wrong,
                                                                        actual: sha256)) {
                    try await store.get(key: "shop/big.tar.gz", to: target, expectedSHA256: wrong)
                }
                #expect(try FileSystem.names(in: scratch + "/back").isEmpty)
            }
        }
    }

    @Test func s3CancelledMultipartUploadIsAborted() async throws {
        try await S3Emulator.withEmulator { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                let store = try emulator.store(
                    transfer: S3TransferSettings(multipartThreshold: 1 << 20, partSize: 5 << 20))
                let source = scratch + "/big.tar.gz"
                try writeRandomFile(source, size: 100 << 20)
                let upload = Task { try await store.put(file: source, key: "shop/cancelled.tar.gz") }
                // Cancel only once the multipart upload exists on the server (polled, with a deadline).
                let deadline = ContinuousClock.now + .seconds(60)
                while try await inProgressUploads(store) == 0 {
                    try #require(ContinuousClock.now < deadline, "the multipart upload never started")
                    try await Task.sleep(for: .milliseconds(20))
                }
                upload.cancel()
                let outcome = await upload.result
                #expect(throws: CancellationError.self) { try outcome.get() }
                #expect(try await inProgressUploads(store) == 0)
                #expect(try await store.head(key: "shop/cancelled.tar.gz") == nil)
            }
        }
    }

    @Test func s3WrongSecretIsAClearAccessDeniedNotAHang() async throws {
        try await S3Emulator.withEmulator { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                // Short time-outs: a hang would end as a transport error, not as the access-denied expected here.
                let transfer = S3TransferSettings(multipartThreshold: 1 << 20, partSize: 5 << 20, connectTimeout: 5,
                                                  stallTimeout: 10)
                let wrongSecret = try emulator.store(
                    transfer: transfer,
                    credentials: S3Credentials(accessKeyID: emulator.credentials.accessKeyID,
                                               secretAccessKey: "not-the-secret"))
                let unknownKey = try emulator.store(
                    transfer: transfer, credentials: S3Credentials(accessKeyID: "AKIANOSUCHKEY000000",
                                                                   secretAccessKey: "whatever"))
                let small = scratch + "/small"
                try writeRandomFile(small, size: 1000)
                let large = scratch + "/large"
                try writeRandomFile(large, size: 6 << 20)

                for (store, code) in [(wrongSecret, "SignatureDoesNotMatch"), (unknownKey, "InvalidAccessKeyId")] {
                    for file in [small, large] {
                        let error = await #expect(throws: BundleStoreError.self) {
                            try await store.put(file: file, key: "shop/x.tar.gz")
                        }
                        #expect(error.map(accessDeniedCode) == code, "\(String(describing: error))")
                        #expect(error.map { "\($0)" }?.contains("not-the-secret") == false)
                    }
                    let getError = await #expect(throws: BundleStoreError.self) {
                        try await store.get(key: "shop/x.tar.gz", to: scratch + "/out", expectedSHA256: nil)
                    }
                    #expect(getError.map(accessDeniedCode) == code)
                    let listError = await #expect(throws: BundleStoreError.self) { try await store.list() }
                    #expect(listError.map(accessDeniedCode) == code)
                    // HEAD answers carry no body: the status alone says access denied.
                    let headError = await #expect(throws: BundleStoreError.self) {
                        try await store.head(key: "shop/x.tar.gz")
                    }
                    #expect(headError.map(accessDeniedCode) == "HTTP 403")
                }
                #expect(!FileSystem.exists(scratch + "/out"))
            }
        }
    }

    @Test func s3UnreachableEndpointIsATransportError() async throws {
        let port = try FreePort.loopback()
        let store = S3Store(location: try S3Location(
            bucket: "dz-bundles", endpoint: "http://127.0.0.1:\(port)",
            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b"),
            transfer: S3TransferSettings(connectTimeout: 5, stallTimeout: 5)))
        let error = await #expect(throws: BundleStoreError.self) { try await store.head(key: "x") }
        guard case .transport(let operation, _, let message)? = error else {
            Issue.record("expected a transport error, got \(String(describing: error))")
            return
        }
        #expect(operation == "HEAD s3://dz-bundles/x")
        #expect(message.contains("onnect"))
    }

    /// Upload and download throughput of a 100 MiB file against moto, printed for the closing note; run with
    /// `DZ_S3_THROUGHPUT=1`. It asserts nothing about speed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DZ_S3_THROUGHPUT"] != nil))
    func s3ThroughputOf100MiB() async throws {
        try await S3Emulator.withEmulator { emulator in
            try await FixtureSupport.withScratchDirectory { scratch in
                let size = 100 << 20
                let source = scratch + "/100MiB"
                try writeRandomFile(source, size: size)
                for (name, transfer) in [("single PUT", S3TransferSettings(multipartThreshold: 1 << 30)),
                                         ("multipart 8 MiB", S3TransferSettings())]
                {
                    let store = try emulator.store(transfer: transfer)
                    for round in 1...3 {
                        let clock = ContinuousClock()
                        let up = try await clock.measure { _ = try await store.put(file: source, key: "t/100MiB") }
                        let target = scratch + "/back"
                        let down = try await clock.measure {
                            _ = try await store.get(key: "t/100MiB", to: target, expectedSHA256: nil)
                        }
                        try FileSystem.unlink(target)
                        print("s3 throughput \(name) round \(round): upload \(mibPerSecond(size, up)) MiB/s, "
                            + "download \(mibPerSecond(size, down)) MiB/s")
                    }
                }
            }
        }
    }
}

/// How many multipart uploads are in progress in the store's bucket (ListMultipartUploads).
private func inProgressUploads(_ store: S3Store) async throws -> Int {
    let response = try await store.send(.get, "ListMultipartUploads", query: [("uploads", "")])
    try #require(response.isSuccess, "ListMultipartUploads: HTTP \(response.status)")
    return try #require(S3XMLElement.parse(response.body)).children("Upload").count
}

private func accessDeniedCode(_ error: BundleStoreError) -> String? {
    guard case .accessDenied(_, let code, _) = error else { return nil }
    return code
}

private func mibPerSecond(_ bytes: Int, _ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f", Double(bytes) / 1_048_576 / seconds)
}

/// Writes `size` pseudo-random bytes (incompressible, different every call) to a new file at `path`.
private func writeRandomFile(_ path: String, size: Int) throws {
    let file = try FileHandle(forWritingTo: {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return URL(fileURLWithPath: path)
    }())
    defer { try? file.close() }
    var generator = SystemRandomNumberGenerator()
    var state = generator.next() | 1
    var remaining = size
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while remaining > 0 {
        let count = min(remaining, chunk.count)
        chunk.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in 0..<words.count {
                // xorshift64*: fast, and plenty for test data.
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                words[index] = state &* 2_685_821_657_736_338_717
            }
        }
        try file.write(contentsOf: chunk[0..<count])
        remaining -= count
    }
}
