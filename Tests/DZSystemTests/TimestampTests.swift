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

    @Test func rfc3339RefusesDaysTheMonthDoesNotHaveAndOffsetsPast2359() {
        for text in ["2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "2100-02-29T00:00:00Z",
                     "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+05:60", "2026-01-01T00:00:00+99:99"] {
            #expect(Timestamp(rfc3339: text) == nil, "accepted \(text)")
        }
        for text in ["2024-02-29T00:00:00Z", "2000-02-29T12:00:00+05:30", "2026-12-31T23:59:59-23:59",
                     "2026-04-30T00:00:00Z"] {
            #expect(Timestamp(rfc3339: text) != nil, "refused \(text)")
        }
    }
}
