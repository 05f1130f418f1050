import Raft
import Wire

// The peer link's framing, as pure values: every byte that crosses a peer connection is one of these frames.
//
//     [UInt32 length][UInt8 type][payload][UInt32 CRC-32C of type + payload]
//
// Integers are little-endian like the rest of the wire format; `length` counts the type byte and the payload (so
// it is at least 1), and is checked against the receiver's limit before any of the frame is buffered.

/// The type byte of a frame. Never renumber: peers running another build read these bytes.
enum FrameType: UInt8, Sendable {
    /// One Raft message other than a snapshot: `Raft.Message` in its wire encoding.
    case raft = 1
    /// `PeerFrame.application`: the kind byte, then the opaque payload.
    case application = 2
    /// Nothing: sent after 500 ms of silence, so the receiver can tell a live connection from a dead one.
    case keepalive = 3
    /// The first frame of a snapshot message: from, to, term (varints), the metadata, the total size of the data
    /// (varint), then the first chunk of data.
    case snapshotBegin = 4
    /// A further chunk of the snapshot's data.
    case snapshotChunk = 5
    /// Handshake, server to client: magic, version, nonce. See `Handshake`.
    case serverHello = 16
    /// Handshake, client to server: identities, nonce and MAC.
    case clientHello = 17
    /// Handshake, server to client: accepted, with the server's proof that it holds the secret.
    case accept = 18
    /// Handshake, server to client: refused, with the reason as UTF-8.
    case reject = 19
}

/// A frame as read off the wire: its length and checksum verified, its payload not yet interpreted.
struct RawFrame: Sendable, Equatable {
    /// The type byte (a `FrameType` raw value, or something unknown).
    var type: UInt8
    /// Everything between the type byte and the checksum.
    var payload: [UInt8]
}

/// Why bytes from a peer are not a valid frame stream. The receiver logs the description and closes the
/// connection: after a bad frame nothing that follows can be trusted to be aligned.
enum FrameError: Error, Equatable, CustomStringConvertible {
    /// A length of zero: there is not even a type byte.
    case emptyFrame
    /// A length above the receiver's limit.
    case oversize(length: Int, limit: Int)
    /// The checksum does not match the type and payload.
    case checksumMismatch(type: UInt8, expected: UInt32, computed: UInt32)
    /// A type byte this build does not know, or one not allowed at this point of the conversation.
    case unexpectedType(UInt8)
    /// The payload of a known type did not decode.
    case malformed(type: UInt8, WireError)
    /// Frames arrived in an order the protocol forbids.
    case outOfOrder(String)

    /// A sentence for the log.
    var description: String {
        switch self {
        case .emptyFrame:
            return "frame of length 0"
        case .oversize(let length, let limit):
            return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .checksumMismatch(let type, let expected, let computed):
            return "frame of type \(type) fails its checksum (CRC-32C sent \(expected), computed \(computed))"
        case .unexpectedType(let type):
            return "unexpected frame type \(type)"
        case .malformed(let type, let error):
            return "malformed frame of type \(type): \(error)"
        case .outOfOrder(let reason):
            return "protocol violation: \(reason)"
        }
    }
}

/// Encodes frames. Pure functions over a `ByteWriter`, so a sender can pack a whole batch into one buffer.
enum FrameCodec {
    /// Bytes a frame adds around its payload: length, type and checksum.
    static let overhead = 9

    /// Appends one frame of `type` whose payload `body` writes.
    static func append(_ type: FrameType, to writer: inout ByteWriter, payload body: (inout ByteWriter) -> Void) {
        let start = writer.count
        writer.writeUInt32(0)
        writer.writeUInt8(type.rawValue)
        body(&writer)
        let end = writer.count
        writer.setUInt32(UInt32(end - start - 4), at: start)
        let checksum = CRC32C.checksum(writer.bytes[(start + 4)..<end])
        writer.writeUInt32(checksum)
    }

    /// Appends one frame of `type` carrying `payload`.
    static func append(_ type: FrameType, payload: [UInt8], to writer: inout ByteWriter) {
        append(type, to: &writer) { $0.writeRaw(payload) }
    }

    /// Appends the frames that carry `frame`: one frame, or for a Raft snapshot one frame per `chunkBytes` of its
    /// data (at least one). Returns false, leaving `writer` as it was, if a frame would exceed `maxFrameBytes`:
    /// the receiver would refuse it and the connection would fail again on every retry.
    static func append(_ frame: PeerFrame, chunkBytes: Int, maxFrameBytes: Int, to writer: inout ByteWriter) -> Bool {
        precondition(chunkBytes > 0, "snapshot chunks must hold at least one byte, got \(chunkBytes)")
        let start = writer.count
        switch frame {
        case .raft(let message):
            if case .snapshot(let snapshot) = message.kind {
                appendSnapshot(message, snapshot, chunkBytes: chunkBytes, to: &writer)
            } else {
                append(.raft, to: &writer) { message.encode(into: &$0) }
            }
        case .application(let kind, let payload):
            append(.application, to: &writer) {
                $0.writeUInt8(kind)
                $0.writeRaw(payload)
            }
        }
        if largestFrame(in: writer.bytes[start...]) <= maxFrameBytes { return true }
        // Rare (a single message above the limit), so rebuilding the batch is cheaper than checking sizes first.
        var trimmed = ByteWriter(capacity: start)
        trimmed.writeRaw(writer.bytes[..<start])
        writer = trimmed
        return false
    }

    /// Streams a snapshot message as `snapshotBegin` followed by `snapshotChunk` frames.
    private static func appendSnapshot(
        _ message: Raft.Message,
        _ snapshot: Raft.Snapshot,
        chunkBytes: Int,
        to writer: inout ByteWriter
    ) {
        let data = snapshot.data
        writer.reserveCapacity(data.count + (data.count / chunkBytes + 1) * (overhead + 8) + 256)
        var offset = min(chunkBytes, data.count)
        append(.snapshotBegin, to: &writer) {
            $0.writeVarUInt(message.from)
            $0.writeVarUInt(message.to)
            $0.writeVarUInt(message.term)
            snapshot.metadata.encode(into: &$0)
            $0.writeVarUInt(UInt64(data.count))
            $0.writeRaw(data[0..<offset])
        }
        while offset < data.count {
            let end = min(offset + chunkBytes, data.count)
            append(.snapshotChunk, to: &writer) { $0.writeRaw(data[offset..<end]) }
            offset = end
        }
    }

    /// The largest `length` field among the complete frames in `bytes`.
    private static func largestFrame(in bytes: ArraySlice<UInt8>) -> Int {
        var largest = 0
        var index = bytes.startIndex
        while index + 4 <= bytes.endIndex {
            var length = 0
            for shift in 0..<4 { length |= Int(bytes[index + shift]) << (8 * shift) }
            largest = max(largest, length)
            index += 4 + length + 4
        }
        return largest
    }
}

/// Splits a byte stream into checked frames. Pure: feed it whatever `read` returned, in any split, and take
/// frames until it returns nil.
struct FrameDecoder: Sendable {
    /// The largest `length` accepted; anything longer is rejected from its first four bytes. Raised once a
    /// connection is authenticated.
    var maxFrameBytes: Int
    /// Received bytes not yet returned as frames, from `start` on.
    private var buffer: [UInt8] = []
    /// Index in `buffer` of the first byte of the next frame.
    ///
    /// Invariant: `0 <= start <= buffer.count`.
    private var start = 0

    /// A decoder accepting frames of up to `maxFrameBytes` (type byte plus payload).
    init(maxFrameBytes: Int) {
        precondition(maxFrameBytes > 0, "maxFrameBytes must be positive, got \(maxFrameBytes)")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet returned in a frame.
    var bufferedByteCount: Int { buffer.count - start }

    /// Adds received bytes.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame, nil if more bytes are needed, or an error if the stream is corrupt (after which
    /// the decoder must not be used).
    mutating func next() throws(FrameError) -> RawFrame? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        var length = 0
        for shift in 0..<4 { length |= Int(buffer[start + shift]) << (8 * shift) }
        guard length > 0 else { throw .emptyFrame }
        guard length <= maxFrameBytes else { throw .oversize(length: length, limit: maxFrameBytes) }
        guard available >= 4 + length + 4 else { return nil }
        let body = (start + 4)..<(start + 4 + length)
        var expected: UInt32 = 0
        for shift in 0..<4 { expected |= UInt32(buffer[body.upperBound + shift]) << UInt32(8 * shift) }
        let computed = CRC32C.checksum(buffer[body])
        let type = buffer[body.lowerBound]
        guard computed == expected else {
            throw .checksumMismatch(type: type, expected: expected, computed: computed)
        }
        let frame = RawFrame(type: type, payload: Array(buffer[(body.lowerBound + 1)..<body.upperBound]))
        start = body.upperBound + 4
        return frame
    }

    /// Drops consumed bytes once they are worth the copy: all of them, or at least 64 KiB.
    private mutating func compact() {
        guard start > 0 else { return }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 1 << 16 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}

/// Turns the checked frames of an authenticated connection into `PeerFrame`s, reassembling snapshots. Pure.
struct FrameAssembler: Sendable {
    /// A snapshot whose chunks are still arriving.
    private struct PendingSnapshot: Sendable {
        var from: UInt64
        var to: UInt64
        var term: UInt64
        var metadata: Raft.SnapshotMetadata
        var total: Int
        var data: [UInt8]
    }

    /// Limit on lengths inside Raft messages; the frame limit, since nothing inside a frame can be longer.
    let lengthLimit: Int
    /// Invariant: while non-nil, only `snapshotChunk` (and `keepalive`) frames are valid.
    private var pending: PendingSnapshot?

    /// An assembler whose Raft decoding rejects lengths above `lengthLimit`.
    init(lengthLimit: Int) {
        self.lengthLimit = lengthLimit
    }

    /// Whether a snapshot is partly received.
    var isReassembling: Bool { pending != nil }

    /// Takes one frame; returns what it completes, if anything, or throws if the frame breaks the protocol.
    mutating func accept(_ frame: RawFrame) throws(FrameError) -> PeerFrame? {
        guard let type = FrameType(rawValue: frame.type) else { throw .unexpectedType(frame.type) }
        if pending != nil, type != .snapshotChunk, type != .keepalive {
            throw .outOfOrder("frame of type \(frame.type) in the middle of a snapshot")
        }
        switch type {
        case .keepalive:
            return nil
        case .raft:
            do {
                return .raft(try Raft.Message.decode(frame.payload, lengthLimit: lengthLimit))
            } catch {
                throw .malformed(type: frame.type, error)
            }
        case .application:
            guard let kind = frame.payload.first else {
                throw .malformed(type: frame.type, .truncated(needed: 1, available: 0, field: "application.kind"))
            }
            return .application(kind: kind, payload: Array(frame.payload.dropFirst()))
        case .snapshotBegin:
            do {
                try beginSnapshot(frame.payload)
            } catch {
                throw .malformed(type: frame.type, error)
            }
            return completedSnapshot()
        case .snapshotChunk:
            guard var snapshot = pending else { throw .outOfOrder("snapshot chunk without a snapshot header") }
            guard frame.payload.count <= snapshot.total - snapshot.data.count else {
                throw .outOfOrder("snapshot chunks exceed the announced \(snapshot.total) bytes")
            }
            pending = nil
            snapshot.data.append(contentsOf: frame.payload)
            pending = snapshot
            return completedSnapshot()
        case .serverHello, .clientHello, .accept, .reject:
            throw .unexpectedType(frame.type)
        }
    }

    /// Reads a `snapshotBegin` payload into `pending`.
    private mutating func beginSnapshot(_ payload: [UInt8]) throws(WireError) {
        var reader = ByteReader(payload, lengthLimit: lengthLimit)
        let from = try reader.readVarUInt(field: "snapshot.from")
        let to = try reader.readVarUInt(field: "snapshot.to")
        let term = try reader.readVarUInt(field: "snapshot.term")
        let metadata = try Raft.SnapshotMetadata(from: &reader)
        let total = try reader.readVarUInt(field: "snapshot.size")
        guard total <= UInt64(Int.max), reader.remaining <= Int(total) else {
            throw .invalid("snapshot claims \(total) bytes but its first chunk holds \(reader.remaining)")
        }
        var data: [UInt8] = []
        // The total is the sender's claim: reserve no more than one frame's worth up front.
        data.reserveCapacity(min(Int(total), lengthLimit))
        data.append(contentsOf: try reader.readRaw(count: reader.remaining, field: "snapshot.data"))
        pending = PendingSnapshot(from: from, to: to, term: term, metadata: metadata, total: Int(total), data: data)
    }

    /// The pending snapshot as a message, if all its data has arrived.
    private mutating func completedSnapshot() -> PeerFrame? {
        guard let snapshot = pending, snapshot.data.count == snapshot.total else { return nil }
        pending = nil
        let body = Raft.Snapshot(metadata: snapshot.metadata, data: snapshot.data)
        return .raft(Raft.Message(from: snapshot.from, to: snapshot.to, term: snapshot.term, kind: .snapshot(body)))
    }
}
