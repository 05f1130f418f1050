package import Wire

/// A backup of the replicated state, as `GET /v1/operator/snapshot` returns it and `gantry controller --restore`
/// reads it: magic `GNTYBAK1`, the last applied index and its term, the state machine snapshot, and a CRC-32C of
/// everything before it.
package struct Backup: Sendable, Equatable {
    /// The index the state reflects.
    package var index: UInt64
    /// The term of the entry at `index`.
    package var term: UInt64
    /// `StateMachine.snapshot()` bytes.
    package var state: [UInt8]

    static let magic = Array("GNTYBAK1".utf8)

    /// Creates a backup.
    package init(index: UInt64, term: UInt64, state: [UInt8]) {
        self.index = index
        self.term = term
        self.state = state
    }

    /// The file bytes.
    package func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeRaw(Self.magic)
        writer.writeVarUInt(index)
        writer.writeVarUInt(term)
        writer.writeBytes(state)
        let checksum = CRC32C.checksum(writer.bytes)
        writer.writeUInt32(checksum)
        return writer.bytes
    }

    /// Reads a backup file, checking magic and checksum.
    package static func decode(_ bytes: [UInt8]) throws(WireError) -> Backup {
        guard bytes.count >= magic.count + 4, Array(bytes[0..<magic.count]) == magic else {
            throw .invalid("not a Gantry backup (the file does not start with GNTYBAK1)")
        }
        let body = Array(bytes[0..<(bytes.count - 4)])
        var tail = ByteReader(bytes[(bytes.count - 4)...])
        let stored = try tail.readUInt32(field: "backup.checksum")
        guard CRC32C.checksum(body) == stored else {
            throw .invalid("the backup's checksum does not match: it is damaged")
        }
        var reader = ByteReader(body[magic.count...])
        let index = try reader.readVarUInt(field: "backup.index")
        let term = try reader.readVarUInt(field: "backup.term")
        let state = try reader.readBytes(limit: .max, field: "backup.state")
        try reader.requireAtEnd()
        return Backup(index: index, term: term, state: state)
    }
}
