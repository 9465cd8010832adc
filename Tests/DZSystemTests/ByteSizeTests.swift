import DZSystem
import Testing

struct ByteSizeTests {
    @Test func sizesParseInBinaryUnitsAndRefuseNonsense() {
        #expect(ByteSize.parse("2G") == 2 << 30)
        #expect(ByteSize.parse("512M") == 512 << 20)
        #expect(ByteSize.parse("512MiB") == 512 << 20)
        #expect(ByteSize.parse("512 m") == 512 << 20)
        #expect(ByteSize.parse("64k") == 64 << 10)
        #expect(ByteSize.parse("1000") == 1000)
        #expect(ByteSize.parse("1T") == 1 << 40)
        for bad in ["", "0", "-1G", "+1G", "G", "1.5G", "12X", "1 G x", "١٢M", "0x10M"] {
            #expect(ByteSize.parse(bad) == nil, "\(bad)")
        }
    }

    /// A size past what an Int64 holds is refused, never wrapped into a small one that a range check would let
    /// through (9999999999999G shifted by 30 bits wraps to a few hundred megabytes).
    @Test func sizesPastInt64AreRefusedNotWrapped() {
        for huge in ["99999999999999T", "9999999999999G", "17179869184G", "8388608T", "9223372036854775808"] {
            #expect(ByteSize.parse(huge) == nil, "\(huge)")
        }
        #expect(ByteSize.parse("8388607T") == 8_388_607 << 40)
    }

    @Test func sizesAreWrittenInTheLargestUnitWithOneDecimal() {
        #expect(ByteSize.text(2 << 30) == "2 GiB")
        #expect(ByteSize.text(1536 << 20) == "1.5 GiB")
        #expect(ByteSize.text(300 << 20) == "300 MiB")
        #expect(ByteSize.text(100) == "100 bytes")
        #expect(ByteSize.text(Int64.max) == "8388608 TiB")
    }
}
