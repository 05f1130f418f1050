/// A value with a binary encoding in Gantry's wire format.
///
/// Encoding is deterministic and canonical: a value has exactly one encoding, and decoding accepts only that
/// encoding. So equal values give equal bytes (checksums and golden files can compare bytes), and any bytes that
/// decode re-encode to themselves.
///
/// The encoding carries no version and no checksum: the write-ahead log and the transport frame every value with
/// both, so that a value codec stays a pure function of the value.
package protocol WireCodable {
    /// Appends the value's encoding to `writer`.
    func encode(into writer: inout ByteWriter)

    /// Reads one value from `reader`, leaving it just past the value's last byte.
    init(from reader: inout ByteReader) throws(WireError)
}

extension WireCodable {
    /// The value's encoding on its own.
    package func encoded() -> [UInt8] {
        var writer = ByteWriter()
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes a value that must span all of `bytes`; bytes left over throw `WireError.trailingBytes`. Length
    /// prefixes and element counts above `lengthLimit` throw `WireError.lengthTooLarge`.
    package static func decode(_ bytes: [UInt8], lengthLimit: Int = .max) throws(WireError) -> Self {
        try decode(bytes[...], lengthLimit: lengthLimit)
    }

    /// Decodes a value that must span all of `bytes`, read in place.
    package static func decode(_ bytes: ArraySlice<UInt8>, lengthLimit: Int = .max) throws(WireError) -> Self {
        var reader = ByteReader(bytes, lengthLimit: lengthLimit)
        let value = try Self(from: &reader)
        try reader.requireAtEnd()
        return value
    }
}
