#if FUZZING
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// libFuzzer's side of DZFuzz, compiled only with `-DFUZZING` (and `-sanitize=fuzzer`, which links libFuzzer in).
///
/// SwiftPM names an executable's entry point `DZFuzz_main` and makes `main` an alias of it, so libFuzzer's own
/// `main` never runs: `DZFuzz.main` starts libFuzzer through `LLVMFuzzerRunDriver`, which scripts/fuzz exports
/// (`--export-dynamic-symbol`) so that it can be found here without a C header.
enum FuzzDriver {
    typealias Callback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    typealias Driver = @convention(c) (
        UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>, Callback
    ) -> CInt

    static func run() -> CInt {
        guard let symbol = dlsym(nil, "LLVMFuzzerRunDriver") else {
            fputs("DZFuzz: LLVMFuzzerRunDriver not found: build with scripts/fuzz\n", stderr)
            return 70
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        return unsafeBitCast(symbol, to: Driver.self)(&argc, &argv, fuzzOneInput)
    }
}

/// One input through every reader.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var tally = ReaderCheck.Tally()
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    ReaderCheck.run(bytes, &tally)
    return 0
}
#endif
