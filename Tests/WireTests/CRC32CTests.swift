import Raft
import Testing

@testable import Wire

/// CRC-32C against published vectors and against a bit-at-a-time reference.
@Suite("CRC-32C")
struct CRC32CTests {
    /// The CRC computed one bit at a time, straight from the definition: the slow, obviously correct oracle.
    static func referenceChecksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
        }
        return ~crc
    }

    @Test("check value of \"123456789\" is 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test(
        "RFC 3720 (iSCSI) test vectors",
        arguments: zip(
            [
                [UInt8](repeating: 0, count: 32),
                [UInt8](repeating: 0xFF, count: 32),
                (0..<32).map { UInt8($0) },
                (0..<32).reversed().map { UInt8($0) },
            ],
            [UInt32(0x8A91_36AA), 0x62A8_AB43, 0x46DD_794E, 0x113F_DB5C]
        )
    )
    func iscsiVectors(input: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(input) == expected)
        #expect(Self.referenceChecksum(input) == expected)
    }

    @Test("empty input leaves the running checksum unchanged")
    func emptyInput() {
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([], initial: 0xDEAD_BEEF) == 0xDEAD_BEEF)
        #expect(CRC32C.checksum(UnsafeRawBufferPointer(start: nil, count: 0), initial: 7) == 7)
    }

    @Test("table-driven checksum matches the bitwise reference on random inputs of length 0–300")
    func matchesReference() {
        var random = SplitMix64(seed: 0xC4C3_2C01)
        for _ in 0..<2000 {
            let bytes = random.bytes(Int.random(in: 0...300, using: &random))
            #expect(CRC32C.checksum(bytes) == Self.referenceChecksum(bytes), "input \(bytes)")
        }
    }

    @Test("checksum(b, initial: checksum(a)) equals checksum(a + b) at every split point")
    func incrementalEqualsWhole() {
        var random = SplitMix64(seed: 0x1_2C32)
        let bytes = random.bytes(200)
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.checksum(bytes[split...], initial: first) == whole, "split at \(split)")
        }
    }

    @Test("checksum over many random pieces equals the checksum of the whole")
    func incrementalRandomPieces() {
        var random = SplitMix64(seed: 0xFEED)
        for _ in 0..<50 {
            let bytes = random.bytes(Int.random(in: 0...5000, using: &random))
            var crc: UInt32 = 0
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 0...97, using: &random))
                crc = CRC32C.checksum(bytes[start..<end], initial: crc)
                start = end
            }
            #expect(crc == CRC32C.checksum(bytes))
        }
    }

    @Test("slices at every alignment give the same checksum as copies")
    func unalignedSlices() {
        var random = SplitMix64(seed: 0xA119)
        let bytes = random.bytes(64)
        for offset in 0..<16 {
            let slice = bytes[offset..<(offset + 40)]
            #expect(CRC32C.checksum(slice) == Self.referenceChecksum(Array(slice)), "offset \(offset)")
        }
    }
}
