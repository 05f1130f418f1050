import Raft
import Wire

/// The on-disk record format of the write-ahead log.
///
/// A segment is a sequence of records, each 8-byte aligned:
///
///     length: u32 LE (payload bytes) | type: u8 | 3 zero bytes | crc: u32 LE | payload | zero padding to 8
///
/// `crc` is CRC-32C over the length, the type and the payload. Records are written in batches; every batch ends with
/// a `commit` record carrying the batch's sequence number, byte length and CRC-32C over all of its bytes, and a batch
/// counts only if its commit record and checksum verify. Since the writer starts a batch only after the previous
/// one's fdatasync returned, at most the last batch of the last segment can be incomplete after a crash: that is a
/// torn tail, never acknowledged, and recovery cuts it off. A damaged record anywhere else is corruption.
enum WALRecord {
    /// Header bytes before the payload.
    static let headerSize = 12
    /// Magic of a segment's first record.
    static let magic: [UInt8] = Array("GNTRYWAL".utf8)
    /// Format version.
    static let version: UInt32 = 1

    /// Record types.
    enum Kind: UInt8 {
        /// First record of a segment: magic, version, segment sequence number.
        case segmentHeader = 1
        /// A Raft log entry; an entry at an index already present replaces it and everything after it.
        case entry = 2
        /// Raft hard state (term, vote, commit); the last one wins.
        case hardState = 3
        /// The log was reset to a snapshot installed from the leader: forget every entry after the position.
        case logReset = 4
        /// End of a batch.
        case commit = 5
    }

    /// Total bytes of a record with `payloadLength` payload bytes.
    static func size(payloadLength: Int) -> Int {
        (headerSize + payloadLength + 7) & ~7
    }

    /// Appends a framed record to `buffer`.
    static func append(_ kind: Kind, payload: [UInt8], to buffer: inout [UInt8]) {
        var header = ByteWriter()
        header.writeUInt32(UInt32(payload.count))
        header.writeUInt8(kind.rawValue)
        header.writeUInt8(0)
        header.writeUInt8(0)
        header.writeUInt8(0)
        var crc = CRC32C.checksum(header.bytes[0..<5])
        crc = CRC32C.checksum(payload[...], initial: crc)
        header.writeUInt32(crc)
        buffer.append(contentsOf: header.bytes)
        buffer.append(contentsOf: payload)
        let padding = size(payloadLength: payload.count) - headerSize - payload.count
        if padding > 0 { buffer.append(contentsOf: repeatElement(0, count: padding)) }
    }

    /// One parsed record.
    struct Parsed {
        var kind: Kind
        var payload: ArraySlice<UInt8>
        /// Offset of the next record.
        var next: Int
    }

    /// Why a record could not be parsed.
    enum ParseFailure: Error, Equatable {
        /// Zero length and type: the unwritten, zero-filled end of the segment.
        case endOfData
        /// The record runs past the end of the buffer.
        case incomplete
        /// The header or checksum does not verify.
        case damaged(String)
    }

    /// Parses the record at `offset` of `bytes`; with `checkPadding` false, nonzero padding after a record whose
    /// checksum verifies is let through (to tell a damaged but complete commit record from a torn one).
    static func parse(_ bytes: [UInt8], at offset: Int, checkPadding: Bool = true) -> Result<Parsed, ParseFailure> {
        guard offset + headerSize <= bytes.count else {
            return bytes[offset...].allSatisfy { $0 == 0 } ? .failure(.endOfData) : .failure(.incomplete)
        }
        let length = Int(readUInt32(bytes, offset))
        let type = bytes[offset + 4]
        if length == 0 && type == 0 { return .failure(.endOfData) }
        guard let kind = Kind(rawValue: type) else { return .failure(.damaged("unknown record type \(type)")) }
        guard bytes[offset + 5] == 0, bytes[offset + 6] == 0, bytes[offset + 7] == 0 else {
            return .failure(.damaged("nonzero reserved header bytes"))
        }
        let payloadStart = offset + headerSize
        guard length <= bytes.count - payloadStart else { return .failure(.incomplete) }
        let payload = bytes[payloadStart..<(payloadStart + length)]
        var crc = CRC32C.checksum(bytes[offset..<(offset + 5)])
        crc = CRC32C.checksum(payload, initial: crc)
        guard crc == readUInt32(bytes, offset + 8) else {
            return .failure(.damaged("record checksum mismatch"))
        }
        // The padding is written as zeros and covered by no checksum (a commit record's is outside its batch's):
        // anything else there is damage too, so that every durable byte is checked (found by the chaos suite's
        // bit flips, one of which landed in a commit record's padding and went unnoticed).
        let next = offset + size(payloadLength: length)
        guard !checkPadding || bytes[(payloadStart + length)..<min(next, bytes.count)].allSatisfy({ $0 == 0 }) else {
            return .failure(.damaged("nonzero record padding"))
        }
        return .success(Parsed(kind: kind, payload: payload, next: next))
    }

    static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    // MARK: Payloads

    static func segmentHeader(sequence: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeRaw(magic)
        writer.writeUInt32(version)
        writer.writeUInt64(sequence)
        return writer.bytes
    }

    static func commit(sequence: UInt64, length: Int, checksum: UInt32) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeUInt64(sequence)
        writer.writeUInt32(UInt32(length))
        writer.writeUInt32(checksum)
        return writer.bytes
    }

    /// A decoded commit record.
    struct Commit {
        var sequence: UInt64
        var length: Int
        var checksum: UInt32
    }

    static func decodeCommit(_ payload: ArraySlice<UInt8>) throws(WireError) -> Commit {
        var reader = ByteReader(Array(payload))
        let sequence = try reader.readUInt64(field: "batch sequence")
        let length = Int(try reader.readUInt32(field: "batch length"))
        let checksum = try reader.readUInt32(field: "batch checksum")
        return Commit(sequence: sequence, length: length, checksum: checksum)
    }

    static func decodeSegmentHeader(
        _ payload: ArraySlice<UInt8>
    ) throws(WireError) -> (version: UInt32, sequence: UInt64) {
        var reader = ByteReader(Array(payload))
        let found = try reader.readRaw(count: magic.count, field: "magic")
        guard found == magic else { throw WireError.invalid("not a Gantry WAL segment (bad magic)") }
        let version = try reader.readUInt32(field: "segment format version")
        let sequence = try reader.readUInt64(field: "segment sequence")
        return (version, sequence)
    }
}
