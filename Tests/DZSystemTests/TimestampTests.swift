import DZSystem
import Testing

@Suite struct TimestampTests {
    @Test func formatsAndParsesRFC3339() throws {
        let time = Timestamp(nanoseconds: 1_796_000_000_123_456_000)
        let text = time.rfc3339
        #expect(text.hasSuffix(".123456Z"))
        #expect(Timestamp(rfc3339: text) == time)
        #expect(time.utcDay.count == 10)
        #expect(!time.compact.contains(":"))
    }

    @Test func parsesOffsetsAndRejectsJunk() {
        #expect(Timestamp(rfc3339: "2026-11-29T10:00:00Z") == Timestamp(rfc3339: "2026-11-29T11:00:00+01:00"))
        #expect(Timestamp(rfc3339: "2026-11-29T10:00:00.5Z")!.nanoseconds % 1_000_000_000 == 500_000_000)
        for junk in ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-29T10:00:00", "2026-11-29T10:00:00Zjunk"] {
            #expect(Timestamp(rfc3339: junk) == nil, "accepted \(junk)")
        }
    }
}
