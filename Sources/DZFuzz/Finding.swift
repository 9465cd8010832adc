#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A broken property: printed with the bytes that show it, then the process stops with SIGABRT, which libFuzzer
/// (and the replayer's caller) takes for a finding and saves the input of.
enum Finding {
    static func report(_ what: String, _ bytes: [UInt8]) -> Never {
        let shown = String(decoding: bytes.prefix(400), as: UTF8.self).debugDescription
        fputs("DZFuzz finding: \(what): \(shown)\(bytes.count > 400 ? " (\(bytes.count) bytes)" : "")\n", stderr)
        abort()
    }
}
