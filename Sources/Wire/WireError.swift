/// Why bytes could not be decoded. One flat enum for the whole wire format, thrown with typed throws: the set is
/// closed and every caller inside the package (the write-ahead log, the transport) handles it the same way, by
/// treating the record or frame as corrupt.
package enum WireError: Error, Equatable, CustomStringConvertible {
    /// The input ended inside `field`: it needed `needed` more bytes but only `available` were left.
    case truncated(needed: Int, available: Int, field: String)
    /// The varint for `field` is longer than ten bytes, does not fit in 64 bits, or is not in its shortest form.
    case varintOverflow(field: String)
    /// A one-byte enum tag that names no case of `type`.
    case invalidTag(UInt8, type: String)
    /// A length or element count for `field` above the limit the caller allowed.
    case lengthTooLarge(Int, limit: Int, field: String)
    /// A complete value was decoded but this many bytes followed it.
    case trailingBytes(Int)
    /// The bytes are well-formed but break a rule of the value they encode.
    case invalid(String)

    /// A sentence an operator can act on.
    package var description: String {
        switch self {
        case .truncated(let needed, let available, let field):
            return "truncated input: \(field) needs \(needed) more bytes but only \(available) remain"
        case .varintOverflow(let field):
            return "malformed varint in \(field): longer than 10 bytes, wider than 64 bits, or not minimal"
        case .invalidTag(let tag, let type):
            return "unknown \(type) tag \(tag); the data is corrupt or was written by a newer version"
        case .lengthTooLarge(let length, let limit, let field):
            return "\(field) claims \(length) bytes or elements, above the limit of \(limit)"
        case .trailingBytes(let count):
            return "\(count) unexpected bytes after the end of the value"
        case .invalid(let reason):
            return "invalid encoding: \(reason)"
        }
    }
}
