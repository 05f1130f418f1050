import Raft
import Testing

@testable import Wire

/// The primitives: fixed-width integers, varints, Booleans, byte strings and the limits on lengths.
@Suite("ByteWriter and ByteReader")
struct ByteCodingTests {
    /// The error `body` throws, or nil if it returns.
    static func error<T>(_ body: () throws(WireError) -> T) -> WireError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    /// Encodes `value` as a varint on its own.
    static func varint(_ value: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeVarUInt(value)
        return writer.bytes
    }

    @Test("fixed-width integers are little-endian and read back")
    func fixedWidth() throws {
        var writer = ByteWriter()
        writer.writeUInt8(0xAB)
        writer.writeUInt16(0x0102)
        writer.writeUInt32(0x0304_0506)
        writer.writeUInt64(0x0708_090A_0B0C_0D0E)
        #expect(
            writer.bytes == [0xAB, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07]
        )
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readUInt8(field: "a") == 0xAB)
        #expect(try reader.readUInt16(field: "b") == 0x0102)
        #expect(try reader.readUInt32(field: "c") == 0x0304_0506)
        #expect(try reader.readUInt64(field: "d") == 0x0708_090A_0B0C_0D0E)
        #expect(reader.isAtEnd)
        #expect(reader.remaining == 0)
    }

    @Test(
        "varint edge cases encode in the shortest form",
        arguments: zip(
            [UInt64(0), 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max],
            [
                [0x00], [0x01], [0x7F], [0x80, 0x01], [0xAC, 0x02], [0xFF, 0x7F], [0x80, 0x80, 0x01],
                [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            ] as [[UInt8]]
        )
    )
    func varintEdgeCases(value: UInt64, encoding: [UInt8]) throws {
        #expect(Self.varint(value) == encoding)
        var reader = ByteReader(encoding)
        #expect(try reader.readVarUInt(field: "v") == value)
        #expect(reader.isAtEnd)
    }

    @Test("random varints of every width round-trip")
    func varintRoundTrip() throws {
        var random = SplitMix64(seed: 0x7A21)
        var writer = ByteWriter()
        var values: [UInt64] = []
        for _ in 0..<5000 {
            let value = random.wideValue()
            values.append(value)
            writer.writeVarUInt(value)
        }
        var reader = ByteReader(writer.bytes)
        for value in values {
            #expect(try reader.readVarUInt(field: "v") == value)
        }
        #expect(reader.isAtEnd)
    }

    @Test(
        "overlong or overflowing varints throw varintOverflow",
        arguments: [
            [0x80, 0x00],
            [0xFF, 0x80, 0x00],
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x00],
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
        ] as [[UInt8]]
    )
    func varintOverflow(bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        #expect(
            Self.error { () throws(WireError) in try reader.readVarUInt(field: "v") } == .varintOverflow(field: "v")
        )
        #expect(reader.remaining == bytes.count, "a failed read does not consume input")
    }

    @Test("a varint cut short throws truncated")
    func varintTruncated() {
        for bytes: [UInt8] in [[], [0x80], [0xFF, 0xFF, 0xFF]] {
            var reader = ByteReader(bytes)
            #expect(
                Self.error { () throws(WireError) in try reader.readVarUInt(field: "v") }
                    == .truncated(needed: 1, available: 0, field: "v")
            )
        }
    }

    @Test("fixed-width reads past the end throw truncated without consuming input")
    func fixedTruncated() throws {
        var reader = ByteReader([1, 2, 3])
        #expect(
            Self.error { () throws(WireError) in try reader.readUInt32(field: "crc") }
                == .truncated(needed: 4, available: 3, field: "crc")
        )
        #expect(
            Self.error { () throws(WireError) in try reader.readUInt64(field: "x") }
                == .truncated(needed: 8, available: 3, field: "x")
        )
        #expect(reader.remaining == 3)
        #expect(try reader.readUInt16(field: "y") == 0x0201)
        #expect(try reader.readUInt8(field: "z") == 3)
        #expect(
            Self.error { () throws(WireError) in try reader.readUInt8(field: "w") }
                == .truncated(needed: 1, available: 0, field: "w")
        )
    }

    @Test("Booleans are one byte, 0 or 1; anything else is invalid")
    func booleans() throws {
        var writer = ByteWriter()
        writer.writeBool(true)
        writer.writeBool(false)
        #expect(writer.bytes == [1, 0])
        var reader = ByteReader(writer.bytes + [2])
        #expect(try reader.readBool(field: "a") == true)
        #expect(try reader.readBool(field: "b") == false)
        #expect(
            Self.error { () throws(WireError) in try reader.readBool(field: "c") }
                == .invalid("c is 2, but a Boolean must be 0 or 1")
        )
        #expect(reader.remaining == 1)
    }

    @Test("byte strings carry a varint length; raw bytes carry none")
    func byteStrings() throws {
        var writer = ByteWriter(capacity: 16)
        writer.writeBytes([])
        writer.writeBytes([9, 8, 7])
        writer.writeRaw([1, 2])
        writer.writeRaw([0, 3, 4][1...])
        [UInt8](arrayLiteral: 5).withUnsafeBytes { writer.writeRaw($0) }
        #expect(writer.bytes == [0, 3, 9, 8, 7, 1, 2, 3, 4, 5])
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readBytes(limit: 0, field: "a") == [])
        #expect(try reader.readBytes(limit: 3, field: "b") == [9, 8, 7])
        #expect(try reader.readRaw(count: 5, field: "c") == [1, 2, 3, 4, 5])
        #expect(reader.isAtEnd)
    }

    @Test("a length above the caller's limit throws lengthTooLarge before anything is allocated")
    func lengthLimit() {
        var writer = ByteWriter()
        writer.writeBytes([UInt8](repeating: 1, count: 100))
        var reader = ByteReader(writer.bytes)
        #expect(
            Self.error { () throws(WireError) in try reader.readBytes(limit: 99, field: "blob") }
                == .lengthTooLarge(100, limit: 99, field: "blob")
        )
        #expect(reader.remaining == 101, "a failed read does not consume input")
        // A corrupt length of 2^62 with no limit is caught against the bytes actually present.
        var huge = ByteReader(Self.varint(1 << 62) + [1, 2, 3])
        #expect(
            Self.error { () throws(WireError) in try huge.readBytes(limit: .max, field: "blob") }
                == .truncated(needed: 1 << 62, available: 3, field: "blob")
        )
        #expect(huge.remaining == 12)
        var enormous = ByteReader(Self.varint(.max))
        #expect(
            Self.error { () throws(WireError) in try enormous.readBytes(limit: .max, field: "blob") }
                == .lengthTooLarge(.max, limit: .max, field: "blob")
        )
    }

    @Test("element counts are bounded by the limit and by the bytes left")
    func counts() throws {
        var reader = ByteReader(Self.varint(3) + [1, 2, 3])
        #expect(
            Self.error { () throws(WireError) in try reader.readCount(limit: 2, field: "ids") }
                == .lengthTooLarge(3, limit: 2, field: "ids")
        )
        #expect(try reader.readCount(limit: 3, field: "ids") == 3)
        var short = ByteReader(Self.varint(4) + [1, 2, 3])
        #expect(
            Self.error { () throws(WireError) in try short.readCount(limit: 10, field: "ids") }
                == .truncated(needed: 4, available: 3, field: "ids")
        )
        #expect(short.remaining == 4)
    }

    @Test("a reader over a slice reads only the slice, at the slice's indexes")
    func sliceReader() throws {
        let buffer: [UInt8] = [0xEE, 0x34, 0x12, 0x05, 0xEE]
        var reader = ByteReader(buffer[1..<4])
        #expect(reader.remaining == 3)
        #expect(try reader.readUInt16(field: "a") == 0x1234)
        #expect(try reader.readVarUInt(field: "b") == 5)
        #expect(reader.isAtEnd)
        #expect(Self.error { () throws(WireError) in try reader.readUInt8(field: "c") } != nil)
    }

    @Test("requireAtEnd reports how many bytes are left over")
    func trailing() throws {
        var reader = ByteReader([1, 2, 3])
        _ = try reader.readUInt8(field: "a")
        #expect(Self.error { () throws(WireError) in try reader.requireAtEnd() } == .trailingBytes(2))
    }

    @Test("a header written before its body can be patched once the body is known")
    func patchHeader() throws {
        var writer = ByteWriter()
        writer.writeUInt32(0)
        writer.writeRaw([1, 2, 3])
        writer.setUInt32(CRC32C.checksum(writer.bytes[4...]), at: 0)
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readUInt32(field: "crc") == CRC32C.checksum([1, 2, 3]))
    }

    @Test("a writer can be emptied and reused, keeping its storage")
    func reuse() {
        var writer = ByteWriter()
        for round in 0..<100 {
            writer.reserveCapacity(3)
            writer.writeVarUInt(UInt64(round))
        }
        #expect(writer.count == 100)
        writer.removeAll()
        #expect(writer.bytes.isEmpty)
        #expect(writer.bytes.capacity >= 100)
    }

    @Test("every error describes itself in words an operator can act on")
    func descriptions() {
        let errors: [WireError] = [
            .truncated(needed: 4, available: 1, field: "Entry.term"),
            .varintOverflow(field: "Entry.index"),
            .invalidTag(42, type: "Payload"),
            .lengthTooLarge(1 << 40, limit: 1 << 20, field: "Payload.command"),
            .trailingBytes(3),
            .invalid("node 3 is both a voter and a learner"),
        ]
        let descriptions = errors.map(\.description)
        #expect(descriptions[0] == "truncated input: Entry.term needs 4 more bytes but only 1 remain")
        #expect(descriptions[1].contains("Entry.index"))
        #expect(descriptions[2].contains("Payload tag 42"))
        #expect(descriptions[3].contains("1099511627776") && descriptions[3].contains("1048576"))
        #expect(descriptions[4].contains("3 unexpected bytes"))
        #expect(descriptions[5].contains("both a voter and a learner"))
        #expect(Set(descriptions).count == errors.count)
    }
}
