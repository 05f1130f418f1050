/// Reads the primitives `ByteWriter` writes, checking every length against the input before it touches memory.
///
/// A failed primitive read throws and leaves the reader where it was (a failed composite decode may leave it partway
/// through the value). Every length prefix and element count is checked against the caller's `lengthLimit` and
/// against the bytes actually left, before anything is allocated, so a corrupt length costs an error rather than
/// gigabytes.
package struct ByteReader: Sendable {
    /// The input. Indexes are those of the slice, so they need not start at zero.
    private let input: ArraySlice<UInt8>
    /// Index of the next unread byte.
    ///
    /// Invariant: `input.startIndex <= position <= input.endIndex`.
    private var position: Int

    /// The largest length prefix or element count the codecs accept; see `readBytes(limit:field:)`.
    package let lengthLimit: Int

    /// Creates a reader over `bytes`. Codecs reject any length or count above `lengthLimit`.
    package init(_ bytes: [UInt8], lengthLimit: Int = .max) {
        self.init(bytes[...], lengthLimit: lengthLimit)
    }

    /// Creates a reader over `bytes` (a slice of a larger buffer, read in place). Codecs reject any length or count
    /// above `lengthLimit`.
    package init(_ bytes: ArraySlice<UInt8>, lengthLimit: Int = .max) {
        precondition(lengthLimit >= 0, "lengthLimit must not be negative, got \(lengthLimit)")
        input = bytes
        position = bytes.startIndex
        self.lengthLimit = lengthLimit
    }

    /// Bytes not yet read.
    package var remaining: Int { input.endIndex &- position }

    /// Whether every byte has been read.
    package var isAtEnd: Bool { position == input.endIndex }

    /// Throws `WireError.trailingBytes` unless every byte has been read: a value followed by garbage is corrupt.
    package func requireAtEnd() throws(WireError) {
        guard isAtEnd else { throw .trailingBytes(remaining) }
    }

    /// Reads one byte.
    package mutating func readUInt8(field: String) throws(WireError) -> UInt8 {
        guard position < input.endIndex else { throw .truncated(needed: 1, available: 0, field: field) }
        let byte = input[position]
        position &+= 1
        return byte
    }

    /// Reads two bytes, little-endian.
    package mutating func readUInt16(field: String) throws(WireError) -> UInt16 {
        try readFixed(field: field)
    }

    /// Reads four bytes, little-endian.
    package mutating func readUInt32(field: String) throws(WireError) -> UInt32 {
        try readFixed(field: field)
    }

    /// Reads eight bytes, little-endian.
    package mutating func readUInt64(field: String) throws(WireError) -> UInt64 {
        try readFixed(field: field)
    }

    /// Reads an unsigned LEB128 varint. Accepts only the shortest encoding of each value, so every value has exactly
    /// one encoding: anything longer than ten bytes, wider than 64 bits, or ending in a zero group throws
    /// `WireError.varintOverflow`.
    package mutating func readVarUInt(field: String) throws(WireError) -> UInt64 {
        var index = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < input.endIndex else { throw .truncated(needed: 1, available: 0, field: field) }
            let byte = input[index]
            index &+= 1
            // The tenth byte holds only bit 63: any other bit, or a continuation, cannot fit.
            if shift == 63, byte > 1 { throw .varintOverflow(field: field) }
            result |= UInt64(byte & 0x7F) &<< shift
            if byte < 0x80 {
                // A final zero group after the first byte adds nothing: a longer encoding of a shorter number.
                if byte == 0, shift > 0 { throw .varintOverflow(field: field) }
                position = index
                return result
            }
            shift &+= 7
        }
    }

    /// Reads a byte that must be 0 (`false`) or 1 (`true`).
    package mutating func readBool(field: String) throws(WireError) -> Bool {
        let start = position
        switch try readUInt8(field: field) {
        case 0: return false
        case 1: return true
        case let byte:
            position = start
            throw .invalid("\(field) is \(byte), but a Boolean must be 0 or 1")
        }
    }

    /// Reads a varint length followed by that many bytes. Throws `WireError.lengthTooLarge` if the length exceeds
    /// `limit`, and `WireError.truncated` if fewer bytes remain than it promises.
    package mutating func readBytes(limit: Int, field: String) throws(WireError) -> [UInt8] {
        let start = position
        do {
            let length = try readLength(limit: limit, field: field)
            return try readRaw(count: length, field: field)
        } catch {
            position = start
            throw error
        }
    }

    /// Reads exactly `count` bytes with no length prefix.
    package mutating func readRaw(count: Int, field: String) throws(WireError) -> [UInt8] {
        precondition(count >= 0, "cannot read a negative number of bytes (\(count)) for \(field)")
        guard count <= remaining else { throw .truncated(needed: count, available: remaining, field: field) }
        let bytes = Array(input[position..<(position &+ count)])
        position &+= count
        return bytes
    }

    /// Reads a varint element count for a sequence of elements that each take at least one byte. Throws
    /// `WireError.lengthTooLarge` if it exceeds `limit`, and `WireError.truncated` (with `needed` a lower bound) if
    /// fewer bytes remain than elements, so a caller may reserve capacity for the count it gets.
    package mutating func readCount(limit: Int, field: String) throws(WireError) -> Int {
        let start = position
        let count = try readLength(limit: limit, field: field)
        guard count <= remaining else {
            let available = remaining
            position = start
            throw .truncated(needed: count, available: available, field: field)
        }
        return count
    }

    /// Reads a varint and checks it against `limit`.
    private mutating func readLength(limit: Int, field: String) throws(WireError) -> Int {
        let start = position
        let raw = try readVarUInt(field: field)
        guard raw <= UInt64(max(limit, 0)) else {
            position = start
            throw .lengthTooLarge(Int(clamping: raw), limit: limit, field: field)
        }
        return Int(raw)
    }

    /// Reads a fixed-width little-endian integer.
    private mutating func readFixed<T: FixedWidthInteger>(field: String) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw .truncated(needed: size, available: remaining, field: field) }
        let offset = position &- input.startIndex
        let value = input.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        position &+= size
        return T(littleEndian: value)
    }
}
