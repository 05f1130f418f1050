package import Raft

/// The replicated state machine of the simulation: a few registers, each holding an optional 64-bit value.
/// Commands and snapshots use a tiny fixed binary layout.
package struct RegisterStore: Sendable, Equatable {
    /// Number of registers (keys 0..<keyCount).
    package static let keyCount = 4

    /// Current values by key.
    package private(set) var values: [UInt64?] = Array(repeating: nil, count: keyCount)
    /// Highest log index reflected.
    package private(set) var appliedIndex: UInt64 = 0

    /// Creates an empty store.
    package init() {}

    /// A write command: operation id, key, value.
    package struct Write: Sendable, Equatable {
        /// The client operation that proposed it (unique in a run).
        package var operation: UInt64
        /// The register.
        package var key: Int
        /// The value written.
        package var value: UInt64

        /// Encodes as 17 bytes.
        package var encoded: [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(17)
            appendUInt64(operation, to: &bytes)
            bytes.append(UInt8(key))
            appendUInt64(value, to: &bytes)
            return bytes
        }

        /// Decodes 17 bytes, or nil.
        package init?(decoding bytes: [UInt8]) {
            guard bytes.count == 17 else { return nil }
            operation = readUInt64(bytes, at: 0)
            key = Int(bytes[8])
            value = readUInt64(bytes, at: 9)
        }

        /// Creates a write.
        package init(operation: UInt64, key: Int, value: UInt64) {
            self.operation = operation
            self.key = key
            self.value = value
        }
    }

    /// Applies one committed entry; returns the write it carried, if any.
    @discardableResult
    package mutating func apply(_ entry: Raft.Entry) -> Write? {
        precondition(entry.index == appliedIndex + 1, "apply out of order: \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload, let write = Write(decoding: bytes) else { return nil }
        values[write.key] = write.value
        return write
    }

    /// The snapshot encoding: applied index, then a presence byte and a value per key.
    package var snapshotData: [UInt8] {
        var bytes: [UInt8] = []
        appendUInt64(appliedIndex, to: &bytes)
        for value in values {
            bytes.append(value == nil ? 0 : 1)
            appendUInt64(value ?? 0, to: &bytes)
        }
        return bytes
    }

    /// Restores from `snapshotData`.
    package init(snapshot bytes: [UInt8]) {
        precondition(bytes.count == 8 + 9 * Self.keyCount, "bad simulation snapshot of \(bytes.count) bytes")
        appliedIndex = readUInt64(bytes, at: 0)
        for key in 0..<Self.keyCount {
            let offset = 8 + 9 * key
            values[key] = bytes[offset] == 0 ? nil : readUInt64(bytes, at: offset + 1)
        }
    }
}

private func appendUInt64(_ value: UInt64, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}

private func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for byte in 0..<8 { value |= UInt64(bytes[offset + byte]) << UInt64(8 * byte) }
    return value
}

/// FNV-1a over a payload, for the checkers' compact record of what an entry held.
func payloadDigest(_ payload: Raft.Payload) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ byte: UInt8) {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    switch payload {
    case .empty:
        mix(0)
    case .command(let bytes):
        mix(1)
        for byte in bytes { mix(byte) }
    case .configuration(let configuration):
        mix(2)
        for voter in configuration.voters { mix(UInt8(truncatingIfNeeded: voter)) }
        mix(3)
        for learner in configuration.learners { mix(UInt8(truncatingIfNeeded: learner)) }
    }
    return hash
}
