import Wire

/// The mutual authentication that opens every peer connection, as pure functions; the shells do the I/O.
///
/// 1. Server → client, `serverHello`: magic "GNTY", version, a fresh 16-byte nonce.
/// 2. Client → server, `clientHello`: magic, version, cluster id, from id, to id, the client's incarnation, its own
///    fresh nonce, and HMAC-SHA256(secret, server nonce ‖ everything before the MAC).
/// 3. Server → client: `accept` with HMAC-SHA256(secret, client nonce ‖ "accept"), or `reject` with a reason.
///
/// The secret never crosses the wire, each side proves it holds it over a nonce the other chose (so a recorded
/// handshake cannot be replayed), and the server's checks come in the order that gives an operator the most useful
/// refusal: wrong cluster before wrong node before wrong secret.
enum Handshake {
    /// The four bytes that open both hellos.
    static let magic: [UInt8] = Array("GNTY".utf8)
    /// The protocol version this build speaks.
    static let version: UInt16 = 1
    /// Bytes in each nonce.
    static let nonceByteCount = 16
    /// Frame limit while unauthenticated: a stranger cannot make us buffer more than this.
    static let maxFrameBytes = 4096
    /// The longest cluster id accepted.
    static let maxClusterIDBytes = 256
    /// The longest refusal reason read.
    static let maxReasonBytes = 1024

    /// The client's hello, as decoded by the server.
    struct ClientHello: Sendable, Equatable {
        /// The cluster the client believes it belongs to.
        var clusterID: String
        /// The client's node id.
        var from: UInt64
        /// The node id the client believes it is talking to.
        var to: UInt64
        /// Random per transport instance: tells a reconnect of the same process from a second process with the same
        /// node id.
        var incarnation: UInt64
        /// The client's nonce, which the server's accept MAC covers.
        var nonce: [UInt8]
    }

    /// The server's answer.
    enum Answer: Sendable, Equatable {
        /// Accepted; `mac` proves the server holds the secret.
        case accept(mac: [UInt8])
        /// Refused, for an operator-readable reason.
        case reject(reason: String)
    }

    /// The `serverHello` payload.
    static func serverHello(nonce: [UInt8]) -> [UInt8] {
        precondition(nonce.count == nonceByteCount, "a handshake nonce is \(nonceByteCount) bytes")
        var writer = ByteWriter(capacity: 22)
        writer.writeRaw(magic)
        writer.writeUInt16(version)
        writer.writeRaw(nonce)
        return writer.bytes
    }

    /// The server nonce from a `serverHello` payload, or a reason the client gives up.
    static func readServerHello(_ payload: [UInt8]) -> Result<[UInt8], HandshakeFailure> {
        var reader = ByteReader(payload)
        guard let prefix = try? reader.readRaw(count: 4, field: "magic"), prefix == magic else {
            return .failure(HandshakeFailure("the peer is not a Gantry controller (bad handshake magic)"))
        }
        guard let peerVersion = try? reader.readUInt16(field: "version") else {
            return .failure(HandshakeFailure("malformed handshake from the peer"))
        }
        guard peerVersion == version else {
            return .failure(
                HandshakeFailure("protocol version mismatch: peer speaks \(peerVersion), this node \(version)")
            )
        }
        guard let nonce = try? reader.readRaw(count: nonceByteCount, field: "nonce"), reader.isAtEnd else {
            return .failure(HandshakeFailure("malformed handshake from the peer"))
        }
        return .success(nonce)
    }

    /// The `clientHello` payload, MAC included.
    static func clientHello(_ hello: ClientHello, serverNonce: [UInt8], secret: [UInt8]) -> [UInt8] {
        precondition(hello.nonce.count == nonceByteCount, "a handshake nonce is \(nonceByteCount) bytes")
        var writer = ByteWriter(capacity: 96 + hello.clusterID.utf8.count)
        writer.writeRaw(magic)
        writer.writeUInt16(version)
        writer.writeBytes(Array(hello.clusterID.utf8))
        writer.writeUInt64(hello.from)
        writer.writeUInt64(hello.to)
        writer.writeUInt64(hello.incarnation)
        writer.writeRaw(hello.nonce)
        writer.writeRaw(HMAC.sha256(key: secret, message: serverNonce + writer.bytes))
        return writer.bytes
    }

    /// Checks a `clientHello` payload: the hello if the client may connect, otherwise the reason it may not. The
    /// server still has to check for a live duplicate (`InboundRegistry`), which needs more than this message.
    static func verifyClientHello(
        _ payload: [UInt8],
        serverNonce: [UInt8],
        clusterID: String,
        nodeID: UInt64,
        secret: [UInt8]
    ) -> Result<ClientHello, HandshakeFailure> {
        var reader = ByteReader(payload, lengthLimit: maxClusterIDBytes)
        guard let prefix = try? reader.readRaw(count: 4, field: "magic"), prefix == magic else {
            return .failure(HandshakeFailure("not a Gantry peer (bad handshake magic)"))
        }
        guard let clientVersion = try? reader.readUInt16(field: "version") else {
            return .failure(HandshakeFailure("malformed handshake"))
        }
        guard clientVersion == version else {
            return .failure(HandshakeFailure("protocol version mismatch: expected \(version), got \(clientVersion)"))
        }
        let hello: ClientHello
        let mac: [UInt8]
        do throws(WireError) {
            let cluster = try reader.readBytes(limit: maxClusterIDBytes, field: "clusterID")
            let from = try reader.readUInt64(field: "from")
            let to = try reader.readUInt64(field: "to")
            let incarnation = try reader.readUInt64(field: "incarnation")
            let nonce = try reader.readRaw(count: nonceByteCount, field: "nonce")
            mac = try reader.readRaw(count: SHA256.digestByteCount, field: "mac")
            try reader.requireAtEnd()
            hello = ClientHello(
                clusterID: String(decoding: cluster, as: UTF8.self),
                from: from,
                to: to,
                incarnation: incarnation,
                nonce: nonce
            )
        } catch {
            return .failure(HandshakeFailure("malformed handshake: \(error)"))
        }
        guard hello.clusterID == clusterID else {
            return .failure(HandshakeFailure("cluster id mismatch: expected \(clusterID), got \(hello.clusterID)"))
        }
        guard hello.to == nodeID else {
            return .failure(HandshakeFailure("this is node \(nodeID), not \(hello.to)"))
        }
        guard hello.from != nodeID else {
            return .failure(HandshakeFailure("duplicate node id \(nodeID)"))
        }
        let signed = Array(payload[..<(payload.count - SHA256.digestByteCount)])
        guard HMAC.constantTimeEquals(mac, HMAC.sha256(key: secret, message: serverNonce + signed)) else {
            return .failure(HandshakeFailure("authentication failed: wrong cluster secret"))
        }
        return .success(hello)
    }

    /// The MAC an accepting server sends: proof over the client's nonce that it holds the secret too.
    static func acceptMAC(clientNonce: [UInt8], secret: [UInt8]) -> [UInt8] {
        HMAC.sha256(key: secret, message: clientNonce + Array("accept".utf8))
    }

    /// The payload of an `accept` or `reject` frame.
    static func answerFrame(_ answer: Answer) -> (FrameType, [UInt8]) {
        switch answer {
        case .accept(let mac): return (.accept, mac)
        case .reject(let reason): return (.reject, Array(reason.utf8.prefix(maxReasonBytes)))
        }
    }

    /// Reads the server's answer frame; nil if it is neither an accept nor a reject.
    static func readAnswer(_ frame: RawFrame) -> Answer? {
        switch FrameType(rawValue: frame.type) {
        case .accept: return .accept(mac: frame.payload)
        case .reject: return .reject(reason: String(decoding: frame.payload.prefix(maxReasonBytes), as: UTF8.self))
        default: return nil
        }
    }
}

/// Why a handshake did not complete: a sentence for the log and the statistics.
struct HandshakeFailure: Error, Equatable, CustomStringConvertible {
    /// The sentence.
    var reason: String

    /// A failure for `reason`.
    init(_ reason: String) {
        self.reason = reason
    }

    /// The reason.
    var description: String { reason }
}
