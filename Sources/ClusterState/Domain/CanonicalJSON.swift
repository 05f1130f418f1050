package import Wire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON with sorted keys: the encoding of domain commands, results and state inside the log and snapshots. One
/// binary encodes equal values to equal bytes, which is all replication needs (every node decodes what the
/// leader encoded; nothing re-encodes and compares across versions).
package enum CanonicalJSON {
    /// Encodes `value`.
    package static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            preconditionFailure("encoding \(T.self) failed: \(error)")
        }
    }

    /// Decodes a `T`, or throws `WireError.invalid` naming the type.
    package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(WireError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .invalid("\(T.self) does not decode: \(error)")
        }
    }
}
