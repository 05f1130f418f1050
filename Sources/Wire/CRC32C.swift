/// CRC-32C (Castagnoli): the checksum that guards every write-ahead-log record and every frame on the wire.
///
/// Castagnoli rather than the IEEE CRC-32 because its polynomial detects more error patterns at the record sizes a log
/// writes, and because it is the checksum other storage systems standardise on, so tools can cross-check our files.
/// The computation is table-driven "slice-by-8": eight bytes per step through eight 256-entry tables, several times
/// faster than one table lookup per byte, with no dependency beyond the standard library.
///
/// The checksum composes: `checksum(b, initial: checksum(a)) == checksum(a + b)`, so a record can be summed in pieces
/// (header, then payload) without first copying it into one buffer.
package enum CRC32C {
    /// The reflected Castagnoli polynomial 0x1EDC6F41.
    package static let polynomial: UInt32 = 0x82F6_3B78

    /// Returns the CRC-32C of `bytes`, continuing from `initial`, the checksum of whatever preceded them (zero for
    /// none).
    package static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard var base = bytes.baseAddress else { return initial }
        var count = bytes.count
        var crc = ~initial
        tables.withUnsafeBufferPointer { table in
            // Each table is 256 entries; table k advances a byte through k further zero bytes.
            let t = table.baseAddress!
            while count >= 8 {
                let word = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                let low = UInt32(truncatingIfNeeded: word)
                let high = UInt32(truncatingIfNeeded: word &>> 32)
                crc =
                    t[7 &* 256 &+ Int(low & 0xFF)]
                    ^ t[6 &* 256 &+ Int((low &>> 8) & 0xFF)]
                    ^ t[5 &* 256 &+ Int((low &>> 16) & 0xFF)]
                    ^ t[4 &* 256 &+ Int(low &>> 24)]
                    ^ t[3 &* 256 &+ Int(high & 0xFF)]
                    ^ t[2 &* 256 &+ Int((high &>> 8) & 0xFF)]
                    ^ t[1 &* 256 &+ Int((high &>> 16) & 0xFF)]
                    ^ t[Int(high &>> 24)]
                base += 8
                count &-= 8
            }
            while count > 0 {
                crc = t[Int((crc ^ UInt32(base.load(as: UInt8.self))) & 0xFF)] ^ (crc &>> 8)
                base += 1
                count &-= 1
            }
        }
        return ~crc
    }

    /// Returns the CRC-32C of `bytes`, continuing from `initial`.
    package static func checksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, initial: initial) }
    }

    /// Returns the CRC-32C of `bytes`, continuing from `initial`.
    package static func checksum(_ bytes: ArraySlice<UInt8>, initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, initial: initial) }
    }

    /// Eight 256-entry tables laid end to end. Table 0 is the classic byte-at-a-time table; table k holds the CRC
    /// of a byte followed by k zero bytes, which is what lets one step consume eight bytes. Built once, on first use.
    static let tables: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc &>> 1) ^ polynomial : crc &>> 1
            }
            table[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(slice - 1) * 256 + byte]
                table[slice * 256 + byte] = (previous &>> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()
}
