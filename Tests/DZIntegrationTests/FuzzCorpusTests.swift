import Foundation
import Testing

extension Integration {
    /// The libFuzzer seed corpus (Tests/Fuzz/corpus, see scripts/fuzz) replayed through dz's readers by the
    /// DZFuzz binary of the normal build, so that every test run checks what the fuzzer once found.
    @Suite struct FuzzCorpusTests {
        @Test func seedCorpusPassesEveryReaderWithoutAFinding() async throws {
            let binary = (try DZBinary.path() as NSString).deletingLastPathComponent + "/DZFuzz"
            try #require(FileManager.default.isExecutableFile(atPath: binary), "no DZFuzz at \(binary): swift build first")
            let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fuzz/corpus").path
            let inputs = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix(".") }
            try #require(!inputs.isEmpty, "no seed corpus at \(corpus)")
            let spool = try TestSpool(initialize: false)
            defer { spool.cleanUp() }
            let replay = try await spool.tool(binary, [corpus])
            #expect(replay.status == 0, "\(replay)")
            #expect(replay.stdout.hasPrefix("replayed \(inputs.count) inputs"), "\(replay)")
        }
    }
}
