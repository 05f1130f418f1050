import Raft
import Testing
import Wire

@testable import Controller

/// The peer link's pure parts: framing, snapshot chunking and reassembly, and the handshake's checks.
@Suite("Peer transport codec")
struct TransportCodecTests {
    /// The configuration in the sample snapshots.
    static let configuration = Raft.Configuration(voters: [1, 2, 3], learners: [4])

    /// Frames of every shape: Raft messages with and without entries, application frames (one empty), and
    /// snapshots of zero bytes, less than a chunk, exactly a chunk, and several chunks.
    static let frames: [PeerFrame] = [
        heartbeat(1),
        .raft(
            Raft.Message(
                from: 1,
                to: 2,
                term: 4,
                kind: .append(
                    Raft.Append(
                        previous: Raft.LogPosition(index: 9, term: 3),
                        entries: [
                            Raft.Entry(index: 10, term: 4, payload: .command([1, 2, 3])),
                            Raft.Entry(index: 11, term: 4, payload: .configuration(configuration)),
                        ],
                        leaderCommit: 9
                    )
                )
            )
        ),
        application(2),
        .application(kind: 0, payload: []),
        snapshot(bytes: 0),
        snapshot(bytes: 5),
        snapshot(bytes: 16),
        snapshot(bytes: 50),
        .raft(Raft.Message(from: 2, to: 1, term: 4, kind: .timeoutNow)),
    ]

    /// A snapshot message with `bytes` bytes of patterned data.
    static func snapshot(bytes: Int) -> PeerFrame {
        let metadata = Raft.SnapshotMetadata(last: Raft.LogPosition(index: 90, term: 7), configuration: configuration)
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        return .raft(
            Raft.Message(from: 1, to: 2, term: 7, kind: .snapshot(Raft.Snapshot(metadata: metadata, data: data)))
        )
    }

    /// All of `frames` encoded with 16-byte snapshot chunks.
    static func encoded(_ frames: [PeerFrame] = frames, chunkBytes: Int = 16) -> [UInt8] {
        var writer = ByteWriter()
        for frame in frames {
            #expect(FrameCodec.append(frame, chunkBytes: chunkBytes, maxFrameBytes: 1 << 20, to: &writer))
        }
        return writer.bytes
    }

    /// Feeds `pieces` to a decoder and an assembler; returns the frames delivered.
    static func decode(_ pieces: [ArraySlice<UInt8>]) throws -> [PeerFrame] {
        var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
        var assembler = FrameAssembler(lengthLimit: 1 << 20)
        var delivered: [PeerFrame] = []
        for piece in pieces {
            decoder.append(Array(piece))
            while let raw = try decoder.next() {
                if let frame = try assembler.accept(raw) { delivered.append(frame) }
            }
        }
        #expect(decoder.bufferedByteCount == 0)
        #expect(!assembler.isReassembling)
        return delivered
    }

    @Test("frames round-trip fed whole, byte by byte, and in random splits")
    func roundTrip() throws {
        let bytes = Self.encoded()
        #expect(try Self.decode([bytes[...]]) == Self.frames)
        #expect(try Self.decode(bytes.indices.map { bytes[$0...$0] }) == Self.frames)
        var random = SplitMix(seed: 0x5EED)
        for _ in 0..<50 {
            var pieces: [ArraySlice<UInt8>] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 1 + Int(random.next() % 40))
                pieces.append(bytes[start..<end])
                start = end
            }
            #expect(try Self.decode(pieces) == Self.frames)
        }
    }

    @Test("a snapshot of 50 bytes in 16-byte chunks travels as one header and three chunk frames")
    func snapshotChunking() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
        decoder.append(Self.encoded([Self.snapshot(bytes: 50)]))
        var types: [UInt8] = []
        while let raw = try decoder.next() { types.append(raw.type) }
        #expect(types == [FrameType.snapshotBegin, .snapshotChunk, .snapshotChunk, .snapshotChunk].map(\.rawValue))
    }

    @Test("a flipped bit anywhere in a frame's type, payload or checksum is rejected")
    func corruptedChecksum() throws {
        let bytes = Self.encoded([application(77)])
        for index in 4..<bytes.count {
            var corrupted = bytes
            corrupted[index] ^= 0x10
            var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
            decoder.append(corrupted)
            #expect {
                _ = try decoder.next()
            } throws: { error in
                guard case .checksumMismatch = error as? FrameError else { return false }
                return true
            }
        }
    }

    @Test("an oversize length is rejected from the first four bytes, a zero length at once")
    func lengthLimits() {
        var decoder = FrameDecoder(maxFrameBytes: 1000)
        decoder.append([0xE9, 0x03, 0, 0])
        #expect(throws: FrameError.oversize(length: 1001, limit: 1000)) { _ = try decoder.next() }
        var empty = FrameDecoder(maxFrameBytes: 1000)
        empty.append([0, 0, 0, 0])
        #expect(throws: FrameError.emptyFrame) { _ = try empty.next() }
    }

    @Test("an outbound frame above maxFrameBytes is refused and leaves the batch as it was")
    func oversizeOutbound() {
        var writer = ByteWriter()
        #expect(FrameCodec.append(application(1), chunkBytes: 16, maxFrameBytes: 100, to: &writer))
        let before = writer.bytes
        let big = PeerFrame.application(kind: 1, payload: [UInt8](repeating: 0, count: 200))
        #expect(!FrameCodec.append(big, chunkBytes: 16, maxFrameBytes: 100, to: &writer))
        #expect(writer.bytes == before)
    }

    @Test("no other frame may arrive in the middle of a snapshot, nor a chunk without a header or beyond the size")
    func snapshotOrder() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
        decoder.append(Self.encoded([Self.snapshot(bytes: 50)]))
        let begin = try #require(try decoder.next())
        let chunk = try #require(try decoder.next())

        var interrupted = FrameAssembler(lengthLimit: 1 << 20)
        #expect(try interrupted.accept(begin) == nil)
        var writer = ByteWriter()
        FrameCodec.append(.application, payload: [1], to: &writer)
        var other = FrameDecoder(maxFrameBytes: 100)
        other.append(writer.bytes)
        let applicationFrame = try #require(try other.next())
        #expect(throws: FrameError.self) { _ = try interrupted.accept(applicationFrame) }

        var headless = FrameAssembler(lengthLimit: 1 << 20)
        #expect(throws: FrameError.self) { _ = try headless.accept(chunk) }

        var overlong = FrameAssembler(lengthLimit: 1 << 20)
        #expect(try overlong.accept(begin) == nil)
        let tooBig = RawFrame(type: FrameType.snapshotChunk.rawValue, payload: [UInt8](repeating: 0, count: 40))
        #expect(throws: FrameError.self) { _ = try overlong.accept(tooBig) }
    }

    /// A client hello from `from` to `to` in `cluster`, MAC'd with `secret` over `serverNonce`.
    static func hello(
        cluster: String = "prod",
        from: UInt64 = 1,
        to: UInt64 = 2,
        secret: String = "s3cret",
        serverNonce: [UInt8]
    ) -> [UInt8] {
        Handshake.clientHello(
            Handshake.ClientHello(
                clusterID: cluster,
                from: from,
                to: to,
                incarnation: 99,
                nonce: [UInt8](repeating: 7, count: 16)
            ),
            serverNonce: serverNonce,
            secret: Array(secret.utf8)
        )
    }

    /// The server's verdict on `payload` as node 2 of "prod" with secret "s3cret".
    static func verdict(_ payload: [UInt8], serverNonce: [UInt8]) -> Result<Handshake.ClientHello, HandshakeFailure> {
        Handshake.verifyClientHello(
            payload,
            serverNonce: serverNonce,
            clusterID: "prod",
            nodeID: 2,
            secret: Array("s3cret".utf8)
        )
    }

    @Test("the server accepts a correct hello and refuses each kind of mismatch with its reason")
    func handshakeChecks() throws {
        let nonce = [UInt8](repeating: 3, count: 16)
        let accepted = try Self.verdict(Self.hello(serverNonce: nonce), serverNonce: nonce).get()
        #expect(accepted.from == 1 && accepted.to == 2 && accepted.incarnation == 99 && accepted.clusterID == "prod")

        let cases: [([UInt8], String)] = [
            (Self.hello(cluster: "staging", serverNonce: nonce), "cluster id mismatch: expected prod, got staging"),
            (Self.hello(to: 3, serverNonce: nonce), "this is node 2, not 3"),
            (Self.hello(from: 2, serverNonce: nonce), "duplicate node id 2"),
            (Self.hello(secret: "guess", serverNonce: nonce), "authentication failed: wrong cluster secret"),
            // A replayed hello carries a MAC over another connection's nonce.
            (
                Self.hello(serverNonce: [UInt8](repeating: 4, count: 16)),
                "authentication failed: wrong cluster secret"
            ),
        ]
        for (payload, reason) in cases {
            #expect(Self.verdict(payload, serverNonce: nonce) == .failure(HandshakeFailure(reason)))
        }
        var tampered = Self.hello(serverNonce: nonce)
        tampered[tampered.count - 40] ^= 1  // inside the incarnation
        #expect(
            Self.verdict(tampered, serverNonce: nonce)
                == .failure(HandshakeFailure("authentication failed: wrong cluster secret"))
        )
        var wrongVersion = Self.hello(serverNonce: nonce)
        wrongVersion[4] = 9
        #expect(
            Self.verdict(wrongVersion, serverNonce: nonce)
                == .failure(HandshakeFailure("protocol version mismatch: expected 1, got 9"))
        )
    }

    @Test("the server hello round-trips and a wrong magic is not a Gantry peer")
    func serverHello() {
        let nonce = (0..<16).map { UInt8($0) }
        #expect(Handshake.readServerHello(Handshake.serverHello(nonce: nonce)) == .success(nonce))
        var http = Handshake.serverHello(nonce: nonce)
        http.replaceSubrange(0..<4, with: Array("HTTP".utf8))
        #expect(throws: HandshakeFailure.self) { _ = try Handshake.readServerHello(http).get() }
    }
}

/// SplitMix64: a tiny seeded generator for reproducible random splits.
struct SplitMix {
    /// The generator's state.
    var state: UInt64

    /// A generator starting from `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
