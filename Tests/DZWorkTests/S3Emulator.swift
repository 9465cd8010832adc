#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem
@testable import DZWork
import Foundation
import Synchronization
import DZTestSupport
import Testing
@testable import DZBundle

/// A real S3 emulator for the storage tests: `moto_server` (PyPI `moto[server]`) on a free port of 127.0.0.1, in
/// its signature-checking mode, with an IAM user, an access key and a bucket made for the test, killed afterwards.
///
/// Signature checking: moto checks SigV4 signatures only once `INITIAL_NO_AUTH_ACTION_COUNT` requests have been
/// served. The first three (IAM CreateUser, PutUserPolicy, CreateAccessKey, made with boto3) go unchecked; every
/// request after them, the bucket's creation included, must be signed with the new key.
struct S3Emulator {
    let endpoint: String
    let credentials: S3Credentials
    let bucket: String

    /// IAM CreateUser, PutUserPolicy and CreateAccessKey: the requests moto lets through unsigned.
    static let unsignedRequests = 3

    /// Runs `body` with a fresh emulator, and kills the emulator (its whole process group) afterwards.
    ///
    /// `checkingSignatures: false` runs moto in its default mode, which accepts any signature: only for what moto
    /// cannot check (see `BundleStoreTests.s3StorePrefixIsStrippedFromListings`).
    static func withEmulator<T>(checkingSignatures: Bool = true, _ body: (S3Emulator) async throws -> T)
        async throws -> T
    {
        let moto = try #require(Subprocess.locate("moto_server"),
                                "moto_server is not installed: pip install 'moto[server]' (the S3 tests need it)")
        let port = try FreePort.loopback()
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                           "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]
        if checkingSignatures { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "\(unsignedRequests)" }
        // Run by Subprocess in a task: cancelling the task kills moto's whole process group.
        let server = ServerProcess([moto, "-H", "127.0.0.1", "-p", "\(port)"], environment: environment)
        let result: Result<T, any Error>
        do {
            try await waitUntilListening(port: port, server: server)
            let emulator = try await prepare(endpoint: "http://127.0.0.1:\(port)", environment: environment)
            result = .success(try await body(emulator))
        } catch {
            result = .failure(error)
        }
        await server.stop()
        return try result.get()
    }

    /// A store of this emulator's bucket under `prefix`, with `transfer` settings and, for the wrong-secret
    /// tests, other credentials.
    func store(prefix: String = "", transfer: S3TransferSettings = S3TransferSettings(),
               credentials: S3Credentials? = nil) throws -> S3Store
    {
        S3Store(location: try S3Location(bucket: bucket, prefix: prefix, endpoint: endpoint, region: "us-east-1",
                                         credentials: credentials ?? self.credentials, transfer: transfer))
    }

    /// Creates the IAM user with an allow-all policy and its access key (the unsigned requests, raw HTTP from
    /// Python's standard library: importing boto3 alone takes over a second), then the bucket, signed with the new
    /// key through dz's own `CurlRequest`.
    private static func prepare(endpoint: String, environment: [String: String]) async throws -> S3Emulator {
        let bucket = "dz-bundles-test"
        let script = """
            import json, re, sys, urllib.parse, urllib.request
            endpoint = sys.argv[1]
            # Unsigned, but moto routes a request by the service in its credential scope.
            authorization = ("AWS4-HMAC-SHA256 Credential=bootstrap/20240101/us-east-1/iam/aws4_request, "
                             "SignedHeaders=host, Signature=0")
            def iam(**parameters):
                body = urllib.parse.urlencode(dict(parameters, Version="2010-05-08")).encode()
                request = urllib.request.Request(endpoint + "/", data=body, headers={
                    "Authorization": authorization, "Content-Type": "application/x-www-form-urlencoded"})
                return urllib.request.urlopen(request, timeout=30).read().decode()
            iam(Action="CreateUser", UserName="dz")
            iam(Action="PutUserPolicy", UserName="dz", PolicyName="everything", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            answer = iam(Action="CreateAccessKey", UserName="dz")
            print(re.search("<AccessKeyId>([^<]+)</AccessKeyId>", answer).group(1),
                  re.search("<SecretAccessKey>([^<]+)</SecretAccessKey>", answer).group(1))
            """
        var pythonEnvironment = environment
        pythonEnvironment.removeValue(forKey: "INITIAL_NO_AUTH_ACTION_COUNT")
        let outcome = try await Subprocess.run(["python3", "-c", script, endpoint], environment: pythonEnvironment,
                                               timeout: 60)
        try #require(outcome.succeeded, "creating the emulator's IAM user failed: \(outcome.tail())")
        let words = outcome.stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(words.count == 2, "unexpected output from the IAM set-up: \(outcome.stdoutText)")
        let credentials = S3Credentials(accessKeyID: words[0], secretAccessKey: words[1])

        let created = try await CurlRequest(
            .put, url: "\(endpoint)/\(bucket)", headers: ["x-amz-content-sha256: \(S3Store.emptySHA256)"],
            signing: CurlRequest.Signing(region: "us-east-1", credentials: credentials),
            transfer: S3TransferSettings(), operation: "CreateBucket \(bucket)"
        ).perform()
        try #require(created.isSuccess, "CreateBucket: HTTP \(created.status) \(String(decoding: created.body, as: UTF8.self))")
        return S3Emulator(endpoint: endpoint, credentials: credentials, bucket: bucket)
    }

    /// Waits (bounded) until something accepts TCP connections on `port`; fails at once if the server exited.
    private static func waitUntilListening(port: Int, server: ServerProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let ending = server.ending {
                Issue.record("moto_server exited before listening: \(ending)")
                throw CancellationError()
            }
            if FreePort.isListening(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("moto_server did not listen on 127.0.0.1:\(port) within 30 s")
        throw CancellationError()
    }
}

/// `moto_server` running in a task of its own; `ending` says how it ended, to notice a server that died at start.
private final class ServerProcess: Sendable {
    private let task: Task<Void, Never>
    private let ended: EndingBox

    init(_ arguments: [String], environment: [String: String]) {
        let ended = EndingBox()
        self.ended = ended
        task = Task {
            do {
                let outcome = try await Subprocess.run(arguments, environment: environment, timeout: 1800,
                                                       killGrace: 2)
                ended.set("\(outcome.ending): \(outcome.tail())")
            } catch {
                ended.set("\(error)")
            }
        }
    }

    var ending: String? { ended.value }

    /// Kills the server's process group and waits for it.
    func stop() async {
        task.cancel()
        await task.value
    }
}

private final class EndingBox: Sendable {
    private let state = Mutex<String?>(nil)
    func set(_ text: String) { state.withLock { $0 = text } }
    var value: String? { state.withLock { $0 } }
}
