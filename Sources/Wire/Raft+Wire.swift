package import Raft

// The encodings of the log and state types. Integers are varints (terms, indexes and ids are small in practice),
// byte strings and lists carry a varint length, and enum cases a one-byte tag starting at 1, so that a zeroed
// region never decodes as a valid value.

extension Raft.LogPosition: WireCodable {
    /// Index then term, as varints.
    package func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(index)
        writer.writeVarUInt(term)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let index = try reader.readVarUInt(field: "LogPosition.index")
        let term = try reader.readVarUInt(field: "LogPosition.term")
        self.init(index: index, term: term)
    }
}

/// One-byte tags of `Raft.Payload` cases. Never renumber: these bytes are on disk.
private enum PayloadTag: UInt8 {
    case empty = 1
    case command = 2
    case configuration = 3
}

extension Raft.Payload: WireCodable {
    /// A tag, then the command's length-prefixed bytes or the configuration.
    package func encode(into writer: inout ByteWriter) {
        switch self {
        case .empty:
            writer.writeUInt8(PayloadTag.empty.rawValue)
        case .command(let bytes):
            writer.writeUInt8(PayloadTag.command.rawValue)
            writer.writeBytes(bytes)
        case .configuration(let configuration):
            writer.writeUInt8(PayloadTag.configuration.rawValue)
            configuration.encode(into: &writer)
        }
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let raw = try reader.readUInt8(field: "Payload.tag")
        guard let tag = PayloadTag(rawValue: raw) else { throw .invalidTag(raw, type: "Payload") }
        switch tag {
        case .empty:
            self = .empty
        case .command:
            self = .command(try reader.readBytes(limit: reader.lengthLimit, field: "Payload.command"))
        case .configuration:
            self = .configuration(try Raft.Configuration(from: &reader))
        }
    }
}

extension Raft.Entry: WireCodable {
    /// Index and term as varints, then the payload. This is the write-ahead log's hot path: the buffer grows at
    /// most once, and command bytes are copied in one run.
    package func encode(into writer: inout ByteWriter) {
        writer.reserveCapacity(payload.byteCount + 32)
        writer.writeVarUInt(index)
        writer.writeVarUInt(term)
        payload.encode(into: &writer)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let index = try reader.readVarUInt(field: "Entry.index")
        let term = try reader.readVarUInt(field: "Entry.term")
        let payload = try Raft.Payload(from: &reader)
        self.init(index: index, term: term, payload: payload)
    }
}

extension Raft.HardState: WireCodable {
    /// Term, vote and commit as varints; no vote is written as 0, which is never a node id.
    package func encode(into writer: inout ByteWriter) {
        precondition(vote != 0, "HardState.vote is 0, a reserved node id that cannot be encoded (term \(term))")
        writer.writeVarUInt(term)
        writer.writeVarUInt(vote ?? 0)
        writer.writeVarUInt(commit)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let term = try reader.readVarUInt(field: "HardState.term")
        let vote = try reader.readVarUInt(field: "HardState.vote")
        let commit = try reader.readVarUInt(field: "HardState.commit")
        self.init(term: term, vote: vote == 0 ? nil : vote, commit: commit)
    }
}

extension Raft.Configuration: WireCodable {
    /// The voters, then the learners, each as a varint count followed by the ids in ascending order.
    package func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(UInt64(voters.count))
        for id in voters { writer.writeVarUInt(id) }
        writer.writeVarUInt(UInt64(learners.count))
        for id in learners { writer.writeVarUInt(id) }
    }

    /// Reads what `encode(into:)` writes. Lists out of order, with duplicates, or sharing an id break the type's
    /// invariant and throw `WireError.invalid` rather than being silently repaired, so decoding stays canonical.
    package init(from reader: inout ByteReader) throws(WireError) {
        let voters = try Self.readAscendingIDs(from: &reader, field: "Configuration.voters")
        let learners = try Self.readAscendingIDs(from: &reader, field: "Configuration.learners")
        var voterIndex = 0
        var learnerIndex = 0
        while voterIndex < voters.count, learnerIndex < learners.count {
            if voters[voterIndex] == learners[learnerIndex] {
                throw .invalid("node \(voters[voterIndex]) is both a voter and a learner")
            }
            if voters[voterIndex] < learners[learnerIndex] {
                voterIndex += 1
            } else {
                learnerIndex += 1
            }
        }
        self.init(voters: voters, learners: learners)
    }

    /// Reads a count and that many ids, which must be strictly ascending.
    private static func readAscendingIDs(
        from reader: inout ByteReader,
        field: String
    ) throws(WireError) -> [Raft.NodeID] {
        let count = try reader.readCount(limit: reader.lengthLimit, field: field)
        var ids: [Raft.NodeID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count {
            let id = try reader.readVarUInt(field: field)
            if let last = ids.last, id <= last {
                throw .invalid("\(field) must be strictly ascending, but \(id) follows \(last)")
            }
            ids.append(id)
        }
        return ids
    }
}

extension Raft.SnapshotMetadata: WireCodable {
    /// The last covered position, then the configuration.
    package func encode(into writer: inout ByteWriter) {
        last.encode(into: &writer)
        configuration.encode(into: &writer)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let last = try Raft.LogPosition(from: &reader)
        let configuration = try Raft.Configuration(from: &reader)
        self.init(last: last, configuration: configuration)
    }
}

extension Raft.Snapshot: WireCodable {
    /// The metadata, then the length-prefixed state-machine bytes.
    package func encode(into writer: inout ByteWriter) {
        writer.reserveCapacity(data.count + 64)
        metadata.encode(into: &writer)
        writer.writeBytes(data)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let metadata = try Raft.SnapshotMetadata(from: &reader)
        let data = try reader.readBytes(limit: reader.lengthLimit, field: "Snapshot.data")
        self.init(metadata: metadata, data: data)
    }
}
