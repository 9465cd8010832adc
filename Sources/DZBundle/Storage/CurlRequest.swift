import CCurl
import Foundation
import DZSystem
import Synchronization

/// One HTTP request through libcurl, signed with SigV4 by curl itself (`CURLOPT_AWS_SIGV4`): the one place dz calls
/// libcurl.
///
/// Each request has its own easy handle, used by one thread: `perform()` runs the blocking `curl_easy_perform` on
/// a thread of its own, never on Swift's cooperative pool. Bodies stream from a file through a read callback and
/// responses stream into a file through a write callback; both hash what passes. Connect and stall time-outs turn a
/// silent server into an error instead of a hang, and cancelling the calling task aborts the transfer from curl's
/// progress callback. Credentials go to curl only: never into URLs, errors or logs.
final class CurlRequest: @unchecked Sendable {
    // @unchecked: the transfer state below is touched only by the thread running `curl_easy_perform` (the
    // callbacks run on it), and is read by the caller only after that thread has finished; `cancelled` is atomic.

    enum Method: String, Sendable {
        case get = "GET", head = "HEAD", put = "PUT", post = "POST", delete = "DELETE"
    }

    /// What the request sends.
    enum Body {
        case empty
        case bytes([UInt8])
        /// `length` bytes of `file` from `offset`.
        case file(OpenFile, offset: Int64, length: Int64)
    }

    /// Where a successful (2xx) response body goes; any other response's body is kept in memory for its error.
    enum Sink {
        case memory
        case file(OpenFile)
    }

    struct Response {
        var status: Int
        /// Header names in lowercase.
        var headers: [String: String]
        /// The body, unless it went to a file.
        var body: [UInt8]
        /// Bytes written to the file sink, and their SHA-256.
        var received: Int64
        var receivedSHA256: String?
        /// SHA-256 of the bytes read from a file body.
        var sentSHA256: String?

        var isSuccess: Bool { (200..<300).contains(status) }
    }

    /// The SigV4 identity and where to sign for.
    struct Signing {
        var region: String
        var credentials: S3Credentials
    }

    /// Responses kept in memory (listings, errors) stop here.
    static let memoryLimit = 32 << 20

    let method: Method
    let url: String
    let headers: [String]
    let signing: Signing
    let transfer: S3TransferSettings
    /// What the request is, for messages: `PUT s3://bucket/key`.
    let operation: String
    private let body: Body
    private let sink: Sink
    private let cancelled = Atomic<Bool>(false)

    private var handle: UnsafeMutableRawPointer?
    private var bodySent: Int64 = 0
    private var bodyDigest = SHA256Digest()
    private var sinkDigest = SHA256Digest()
    private var sinkWritten: Int64 = 0
    private var responseHeaders: [String: String] = [:]
    private var responseBody: [UInt8] = []
    private var callbackFailure: BundleStoreError?

    init(_ method: Method, url: String, headers: [String], signing: Signing, transfer: S3TransferSettings,
         operation: String, body: Body = .empty, sink: Sink = .memory)
    {
        self.method = method
        self.url = url
        self.headers = headers
        self.signing = signing
        self.transfer = transfer
        self.operation = operation
        self.body = body
        self.sink = sink
    }

    /// Runs the request on a thread of its own; cancelling the calling task aborts it with `CancellationError`.
    func perform() async throws -> Response {
        try Task.checkCancellation()
        return try await withTaskCancellationHandler {
            try await BlockingCall.run { [self] in try performBlocking() }
        } onCancel: {
            cancelled.store(true, ordering: .relaxed)
        }
    }

    /// `curl_global_init`, once per process, before the first handle.
    private static let globalInit: CURLcode = dz_curl_global_init_default()

    private func performBlocking() throws -> Response {
        guard Self.globalInit == CURLE_OK else {
            throw BundleStoreError.transport(operation: operation, curlCode: Int(Self.globalInit.rawValue),
                                             message: "curl_global_init failed")
        }
        guard let curl = curl_easy_init() else {
            throw BundleStoreError.transport(operation: operation, curlCode: -1, message: "curl_easy_init failed")
        }
        handle = curl
        defer {
            curl_easy_cleanup(curl)
            handle = nil
        }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for header in headers {
            guard let appended = curl_slist_append(headerList, header) else {
                throw BundleStoreError.transport(operation: operation, curlCode: -1, message: "out of memory")
            }
            headerList = appended
        }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        try configure(curl, headers: headerList, errorBuffer: errorBuffer)
        let code = curl_easy_perform(curl)
        if cancelled.load(ordering: .relaxed) { throw CancellationError() }
        if let callbackFailure { throw callbackFailure }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw BundleStoreError.transport(operation: operation, curlCode: Int(code.rawValue),
                                             message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = dz_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        let toFile = { if case .file = self.sink { return true } else { return false } }()
        let succeeded = (200..<300).contains(status)
        var sentSHA256: String?
        if case .file = body { sentSHA256 = bodyDigest.finalize() }
        return Response(status: status, headers: responseHeaders, body: responseBody, received: sinkWritten,
                        receivedSHA256: toFile && succeeded ? sinkDigest.finalize() : nil, sentSHA256: sentSHA256)
    }

    private func configure(_ curl: UnsafeMutableRawPointer, headers: UnsafeMutablePointer<curl_slist>?,
                           errorBuffer: UnsafeMutablePointer<CChar>) throws
    {
        let context = Unmanaged.passUnretained(self).toOpaque()
        var failed: CURLoption?
        func set(_ option: CURLoption, _ result: CURLcode) { if result != CURLE_OK, failed == nil { failed = option } }

        set(CURLOPT_URL, dz_curl_setopt_string(curl, CURLOPT_URL, url))
        set(CURLOPT_PROTOCOLS_STR, dz_curl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(CURLOPT_NOSIGNAL, dz_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        set(CURLOPT_FOLLOWLOCATION, dz_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0))
        set(CURLOPT_USERAGENT, dz_curl_setopt_string(curl, CURLOPT_USERAGENT, "dz"))
        set(CURLOPT_AWS_SIGV4, dz_curl_setopt_string(curl, CURLOPT_AWS_SIGV4, "aws:amz:\(signing.region):s3"))
        // USERNAME and PASSWORD rather than USERPWD "id:secret": nothing to split wrongly.
        set(CURLOPT_USERNAME, dz_curl_setopt_string(curl, CURLOPT_USERNAME, signing.credentials.accessKeyID))
        set(CURLOPT_PASSWORD, dz_curl_setopt_string(curl, CURLOPT_PASSWORD, signing.credentials.secretAccessKey))
        set(CURLOPT_HTTPHEADER, dz_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, headers))
        set(CURLOPT_ERRORBUFFER, dz_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer))
        set(CURLOPT_CONNECTTIMEOUT_MS,
            dz_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(transfer.connectTimeout * 1000)))
        set(CURLOPT_LOW_SPEED_LIMIT, dz_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, transfer.stallSpeed))
        set(CURLOPT_LOW_SPEED_TIME,
            dz_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, max(1, Int(transfer.stallTimeout.rounded(.up)))))
        set(CURLOPT_BUFFERSIZE, dz_curl_setopt_long(curl, CURLOPT_BUFFERSIZE, 512 << 10))

        set(CURLOPT_HEADERFUNCTION, dz_curl_setopt_callback(curl, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            Unmanaged<CurlRequest>.fromOpaque(context!).takeUnretainedValue()
                .receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
        })
        set(CURLOPT_HEADERDATA, dz_curl_setopt_pointer(curl, CURLOPT_HEADERDATA, context))
        set(CURLOPT_WRITEFUNCTION, dz_curl_setopt_callback(curl, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            Unmanaged<CurlRequest>.fromOpaque(context!).takeUnretainedValue()
                .receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
        })
        set(CURLOPT_WRITEDATA, dz_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, context))
        set(CURLOPT_NOPROGRESS, dz_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0))
        set(CURLOPT_XFERINFOFUNCTION, dz_curl_setopt_xferinfo(curl) { context, _, _, _, _ in
            Unmanaged<CurlRequest>.fromOpaque(context!).takeUnretainedValue()
                .cancelled.load(ordering: .relaxed) ? 1 : 0
        })
        set(CURLOPT_XFERINFODATA, dz_curl_setopt_pointer(curl, CURLOPT_XFERINFODATA, context))

        switch method {
        case .get:
            set(CURLOPT_HTTPGET, dz_curl_setopt_long(curl, CURLOPT_HTTPGET, 1))
        case .head:
            set(CURLOPT_NOBODY, dz_curl_setopt_long(curl, CURLOPT_NOBODY, 1))
        case .delete:
            set(CURLOPT_CUSTOMREQUEST, dz_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, "DELETE"))
        case .put, .post:
            // Every body, even an empty one, goes through the read callback with its exact length.
            set(CURLOPT_UPLOAD, dz_curl_setopt_long(curl, CURLOPT_UPLOAD, 1))
            set(CURLOPT_UPLOAD_BUFFERSIZE, dz_curl_setopt_long(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1 << 20))
            set(CURLOPT_INFILESIZE_LARGE, dz_curl_setopt_offset(curl, CURLOPT_INFILESIZE_LARGE, Int(bodyLength)))
            set(CURLOPT_READFUNCTION, dz_curl_setopt_callback(curl, CURLOPT_READFUNCTION) { data, size, count, context in
                Unmanaged<CurlRequest>.fromOpaque(context!).takeUnretainedValue()
                    .sendBody(UnsafeMutableRawBufferPointer(start: data, count: size * count))
            })
            set(CURLOPT_READDATA, dz_curl_setopt_pointer(curl, CURLOPT_READDATA, context))
            if method == .post {
                set(CURLOPT_CUSTOMREQUEST, dz_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, "POST"))
            }
        }
        if let failed {
            throw BundleStoreError.transport(operation: operation, curlCode: -1,
                                             message: "this libcurl does not support option \(failed.rawValue)")
        }
    }

    private var bodyLength: Int64 {
        switch body {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .file(_, _, let length): length
        }
    }

    /// CURLOPT_READFUNCTION: fills `buffer` with the next bytes of the body.
    private func sendBody(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        let wanted = Int(min(Int64(buffer.count), bodyLength - bodySent))
        guard wanted > 0 else { return 0 }
        switch body {
        case .empty:
            return 0
        case .bytes(let bytes):
            let start = Int(bodySent)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + wanted]))
            }
            bodySent += Int64(wanted)
            return wanted
        case .file(let file, let offset, _):
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted])
            do {
                let count = try file.read(into: target, at: offset + bodySent)
                guard count > 0 else {
                    callbackFailure = .sourceChanged(path: file.path)
                    return Int(CURL_READFUNC_ABORT)
                }
                bodyDigest.update(UnsafeRawBufferPointer(rebasing: target[..<count]))
                bodySent += Int64(count)
                return count
            } catch {
                callbackFailure = .filesystem(operation: "read", path: file.path, error)
                return Int(CURL_READFUNC_ABORT)
            }
        }
    }

    /// CURLOPT_WRITEFUNCTION: a successful response's body goes to the sink, any other to memory.
    private func receiveBody(_ data: UnsafeRawBufferPointer) -> Int {
        var status = 0
        if let handle { _ = dz_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status) }
        if (200..<300).contains(status), case .file(let file) = sink {
            do {
                try file.write(data)
            } catch {
                callbackFailure = .filesystem(operation: "write", path: file.path, error)
                return 0
            }
            sinkDigest.update(data)
            sinkWritten += Int64(data.count)
            return data.count
        }
        guard responseBody.count + data.count <= Self.memoryLimit else {
            callbackFailure = .malformedResponse(operation: operation,
                                                 detail: "response body larger than \(Self.memoryLimit >> 20) MiB")
            return 0
        }
        responseBody.append(contentsOf: data)
        return data.count
    }

    /// CURLOPT_HEADERFUNCTION: one header line at a time; a status line starts a new response (after a redirect
    /// or `100 Continue`).
    private func receiveHeader(_ data: UnsafeRawBufferPointer) -> Int {
        let line = String(decoding: data, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            responseHeaders = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            responseHeaders[name] = value
        }
        return data.count
    }
}
