package import Raft

// The encodings of the messages nodes exchange. Same conventions as the log types: varint integers, one byte per
// Boolean, and a one-byte tag, starting at 1, per `Message.Kind` case.

extension Raft.Message: WireCodable {
    /// Sender, recipient and term as varints, then the kind. `acknowledgesBeforePersisting` is a test-only switch
    /// and is not encoded.
    package func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(from)
        writer.writeVarUInt(to)
        writer.writeVarUInt(term)
        kind.encode(into: &writer)
    }

    /// Reads what `encode(into:)` writes; `acknowledgesBeforePersisting` comes back false.
    package init(from reader: inout ByteReader) throws(WireError) {
        let from = try reader.readVarUInt(field: "Message.from")
        let to = try reader.readVarUInt(field: "Message.to")
        let term = try reader.readVarUInt(field: "Message.term")
        let kind = try Kind(from: &reader)
        self.init(from: from, to: to, term: term, kind: kind)
    }
}

/// One-byte tags of `Raft.Message.Kind` cases. Never renumber: peers running another build read these bytes.
private enum KindTag: UInt8 {
    case append = 1
    case appendResponse = 2
    case vote = 3
    case voteResponse = 4
    case heartbeat = 5
    case heartbeatResponse = 6
    case snapshot = 7
    case timeoutNow = 8
    case readIndex = 9
    case readIndexResponse = 10
}

extension Raft.Message.Kind: WireCodable {
    /// A tag, then the case's fields.
    package func encode(into writer: inout ByteWriter) {
        switch self {
        case .append(let append):
            writer.writeUInt8(KindTag.append.rawValue)
            append.encode(into: &writer)
        case .appendResponse(let response):
            writer.writeUInt8(KindTag.appendResponse.rawValue)
            response.encode(into: &writer)
        case .vote(let request):
            writer.writeUInt8(KindTag.vote.rawValue)
            request.encode(into: &writer)
        case .voteResponse(let response):
            writer.writeUInt8(KindTag.voteResponse.rawValue)
            response.encode(into: &writer)
        case .heartbeat(let heartbeat):
            writer.writeUInt8(KindTag.heartbeat.rawValue)
            heartbeat.encode(into: &writer)
        case .heartbeatResponse(let response):
            writer.writeUInt8(KindTag.heartbeatResponse.rawValue)
            response.encode(into: &writer)
        case .snapshot(let snapshot):
            writer.writeUInt8(KindTag.snapshot.rawValue)
            snapshot.encode(into: &writer)
        case .timeoutNow:
            writer.writeUInt8(KindTag.timeoutNow.rawValue)
        case .readIndex(let context):
            writer.writeUInt8(KindTag.readIndex.rawValue)
            writer.writeVarUInt(context)
        case .readIndexResponse(let context, let index):
            writer.writeUInt8(KindTag.readIndexResponse.rawValue)
            writer.writeVarUInt(context)
            writer.writeVarUInt(index)
        }
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let raw = try reader.readUInt8(field: "Message.kind")
        guard let tag = KindTag(rawValue: raw) else { throw .invalidTag(raw, type: "Message.Kind") }
        switch tag {
        case .append: self = .append(try Raft.Append(from: &reader))
        case .appendResponse: self = .appendResponse(try Raft.AppendResponse(from: &reader))
        case .vote: self = .vote(try Raft.VoteRequest(from: &reader))
        case .voteResponse: self = .voteResponse(try Raft.VoteResponse(from: &reader))
        case .heartbeat: self = .heartbeat(try Raft.Heartbeat(from: &reader))
        case .heartbeatResponse: self = .heartbeatResponse(try Raft.HeartbeatResponse(from: &reader))
        case .snapshot: self = .snapshot(try Raft.Snapshot(from: &reader))
        case .timeoutNow: self = .timeoutNow
        case .readIndex:
            self = .readIndex(context: try reader.readVarUInt(field: "ReadIndex.context"))
        case .readIndexResponse:
            let context = try reader.readVarUInt(field: "ReadIndexResponse.context")
            let index = try reader.readVarUInt(field: "ReadIndexResponse.index")
            self = .readIndexResponse(context: context, index: index)
        }
    }
}

extension Raft.Append: WireCodable {
    /// The previous position, a varint entry count, the entries, then the leader's commit index.
    package func encode(into writer: inout ByteWriter) {
        var payloadBytes = 0
        for entry in entries { payloadBytes += entry.payload.byteCount }
        writer.reserveCapacity(payloadBytes + 24 * entries.count + 32)
        previous.encode(into: &writer)
        writer.writeVarUInt(UInt64(entries.count))
        for entry in entries { entry.encode(into: &writer) }
        writer.writeVarUInt(leaderCommit)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let previous = try Raft.LogPosition(from: &reader)
        let count = try reader.readCount(limit: reader.lengthLimit, field: "Append.entries")
        var entries: [Raft.Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count { entries.append(try Raft.Entry(from: &reader)) }
        let leaderCommit = try reader.readVarUInt(field: "Append.leaderCommit")
        self.init(previous: previous, entries: entries, leaderCommit: leaderCommit)
    }
}

extension Raft.AppendResponse: WireCodable {
    /// Success as a Boolean, then index, hint index and hint term as varints.
    package func encode(into writer: inout ByteWriter) {
        writer.writeBool(success)
        writer.writeVarUInt(index)
        writer.writeVarUInt(hintIndex)
        writer.writeVarUInt(hintTerm)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let success = try reader.readBool(field: "AppendResponse.success")
        let index = try reader.readVarUInt(field: "AppendResponse.index")
        let hintIndex = try reader.readVarUInt(field: "AppendResponse.hintIndex")
        let hintTerm = try reader.readVarUInt(field: "AppendResponse.hintTerm")
        self.init(success: success, index: index, hintIndex: hintIndex, hintTerm: hintTerm)
    }
}

extension Raft.VoteRequest: WireCodable {
    /// The candidate's last position, then the pre-vote and leadership-transfer flags.
    package func encode(into writer: inout ByteWriter) {
        lastLog.encode(into: &writer)
        writer.writeBool(preVote)
        writer.writeBool(leadershipTransfer)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let lastLog = try Raft.LogPosition(from: &reader)
        let preVote = try reader.readBool(field: "VoteRequest.preVote")
        let leadershipTransfer = try reader.readBool(field: "VoteRequest.leadershipTransfer")
        self.init(lastLog: lastLog, preVote: preVote, leadershipTransfer: leadershipTransfer)
    }
}

extension Raft.VoteResponse: WireCodable {
    /// The granted and pre-vote flags.
    package func encode(into writer: inout ByteWriter) {
        writer.writeBool(granted)
        writer.writeBool(preVote)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let granted = try reader.readBool(field: "VoteResponse.granted")
        let preVote = try reader.readBool(field: "VoteResponse.preVote")
        self.init(granted: granted, preVote: preVote)
    }
}

extension Raft.Heartbeat: WireCodable {
    /// Commit index and read round as varints.
    package func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(commit)
        writer.writeVarUInt(readRound)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let commit = try reader.readVarUInt(field: "Heartbeat.commit")
        let readRound = try reader.readVarUInt(field: "Heartbeat.readRound")
        self.init(commit: commit, readRound: readRound)
    }
}

extension Raft.HeartbeatResponse: WireCodable {
    /// The read round as a varint.
    package func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(readRound)
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        self.init(readRound: try reader.readVarUInt(field: "HeartbeatResponse.readRound"))
    }
}
