import Raft
import Testing

@testable import Wire

/// The codecs of the Raft types: round trips, the exact format, and what corrupt input does.
@Suite("Raft codecs")
struct RaftCodecTests {
    /// The error decoding `bytes` as `T` throws, or nil if it decodes.
    static func decodeError<T: WireCodable>(
        _: T.Type,
        _ bytes: [UInt8],
        lengthLimit: Int = .max
    ) -> WireError? {
        do {
            _ = try T.decode(bytes, lengthLimit: lengthLimit)
            return nil
        } catch {
            return error
        }
    }

    /// Whether `error` is `.truncated`, whatever its fields.
    static func isTruncated(_ error: WireError?) -> Bool {
        if case .truncated = error { return true }
        return false
    }

    /// Checks that `value` survives encoding and decoding, and that its encoding is stable.
    static func expectRoundTrip<T: WireCodable & Equatable>(
        _ value: T,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let bytes = value.encoded()
        #expect(try T.decode(bytes) == value, sourceLocation: sourceLocation)
        #expect(value.encoded() == bytes, "encoding is deterministic", sourceLocation: sourceLocation)
        var writer = ByteWriter()
        writer.writeUInt8(0xEE)
        value.encode(into: &writer)
        #expect(writer.bytes == [0xEE] + bytes, "encode(into:) appends", sourceLocation: sourceLocation)
    }

    @Test("positions, hard states, configurations and snapshot metadata round-trip")
    func smallTypes() throws {
        try Self.expectRoundTrip(Raft.LogPosition(index: 0, term: 0))
        try Self.expectRoundTrip(Raft.LogPosition(index: .max, term: 1))
        try Self.expectRoundTrip(Raft.HardState())
        try Self.expectRoundTrip(Raft.HardState(term: 9, vote: 3, commit: 7))
        try Self.expectRoundTrip(Raft.HardState(term: .max, vote: .max, commit: .max))
        try Self.expectRoundTrip(Raft.Configuration.empty)
        try Self.expectRoundTrip(Raft.Configuration(voters: [1]))
        try Self.expectRoundTrip(Samples.fiveNodes)
        try Self.expectRoundTrip(Raft.Configuration(voters: [], learners: [8, 9]))
        try Self.expectRoundTrip(Raft.Configuration(voters: Array(1...300), learners: [UInt64.max]))
        try Self.expectRoundTrip(Samples.snapshot.metadata)
    }

    @Test("a hard state without a vote encodes the vote as 0")
    func noVoteIsZero() throws {
        #expect(Raft.HardState(term: 2, vote: nil, commit: 1).encoded() == [2, 0, 1])
        #expect(try Raft.HardState.decode([2, 0, 1]).vote == nil)
    }

    @Test("every payload kind round-trips, including empty and large commands", arguments: Samples.entries)
    func entries(entry: Raft.Entry) throws {
        try Self.expectRoundTrip(entry)
        try Self.expectRoundTrip(entry.payload)
    }

    @Test("a 4 MiB command and a 4 MiB snapshot round-trip")
    func largeValues() throws {
        var random = SplitMix64(seed: 0xB16)
        let bytes = random.bytes(4 << 20)
        try Self.expectRoundTrip(Raft.Entry(index: 1, term: 1, payload: .command(bytes)))
        try Self.expectRoundTrip(Raft.Snapshot(metadata: Samples.snapshot.metadata, data: bytes))
        let entries = (1...64).map { Raft.Entry(index: $0, term: 3, payload: .command(Array(bytes[0..<65_536]))) }
        try Self.expectRoundTrip(
            Samples.message(
                .append(Raft.Append(previous: Raft.LogPosition(index: 0, term: 0), entries: entries, leaderCommit: 1))
            )
        )
    }

    @Test("every message kind round-trips", arguments: Samples.messages)
    func messages(message: Raft.Message) throws {
        try Self.expectRoundTrip(message)
        try Self.expectRoundTrip(message.kind)
    }

    @Test("the samples cover every message kind")
    func samplesCoverEveryKind() {
        #expect(Set(Samples.messages.map { Samples.ordinal(of: $0.kind) }) == Set(0..<Samples.kindCount))
    }

    @Test("random messages of every kind round-trip")
    func randomMessages() throws {
        var random = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<3000 {
            try Self.expectRoundTrip(Samples.message(using: &random))
        }
    }

    @Test("the test-only acknowledgesBeforePersisting flag is not encoded and decodes as false")
    func testOnlyFlagIsDropped() throws {
        var message = Samples.message(.appendResponse(Raft.AppendResponse(success: true, index: 3)))
        let plain = message.encoded()
        message.acknowledgesBeforePersisting = true
        #expect(message.encoded() == plain)
        #expect(try Raft.Message.decode(plain).acknowledgesBeforePersisting == false)
    }

    @Test("the encoding is pinned byte for byte")
    func goldenBytes() {
        let append = Raft.Message(
            from: 1,
            to: 2,
            term: 300,
            kind: .append(
                Raft.Append(
                    previous: Raft.LogPosition(index: 4, term: 3),
                    entries: [
                        Raft.Entry(index: 5, term: 300, payload: .command([0xCA, 0xFE])),
                        Raft.Entry(
                            index: 6,
                            term: 300,
                            payload: .configuration(Raft.Configuration(voters: [2, 1], learners: [3]))
                        ),
                        Raft.Entry(index: 7, term: 300, payload: .empty),
                    ],
                    leaderCommit: 4
                )
            )
        )
        let expected: [UInt8] = [
            1, 2, 0xAC, 0x02,  // from, to, term
            1, 4, 3, 3,  // append tag, previous index and term, entry count
            5, 0xAC, 0x02, 2, 2, 0xCA, 0xFE,  // command entry
            6, 0xAC, 0x02, 3, 2, 1, 2, 1, 3,  // configuration entry
            7, 0xAC, 0x02, 1,  // empty entry
            4,  // leader commit
        ]
        #expect(append.encoded() == expected)
        #expect(Samples.message(.timeoutNow).encoded() == [1, 2, 5, 8])
        #expect(
            Samples.message(
                .vote(
                    Raft.VoteRequest(
                        lastLog: Raft.LogPosition(index: 9, term: 4),
                        preVote: true,
                        leadershipTransfer: false
                    )
                )
            )
            .encoded() == [1, 2, 5, 3, 9, 4, 1, 0]
        )
        #expect(Samples.message(.readIndexResponse(context: 128, index: 1)).encoded() == [1, 2, 5, 10, 0x80, 0x01, 1])
    }

    @Test("equal configurations built in different orders encode identically")
    func configurationsAreCanonical() {
        let first = Raft.Configuration(voters: [3, 1, 2, 1], learners: [9, 3, 7])
        let second = Raft.Configuration(voters: [2, 3, 1], learners: [7, 9])
        #expect(first.encoded() == second.encoded())
    }

    @Test("every proper prefix of a valid encoding throws truncated", arguments: Samples.messages)
    func everyTruncationThrows(message: Raft.Message) {
        let bytes = message.encoded()
        for length in 0..<bytes.count {
            let error = Self.decodeError(Raft.Message.self, Array(bytes[..<length]))
            #expect(
                Self.isTruncated(error),
                "prefix of \(length) of \(bytes.count) bytes gave \(String(describing: error))"
            )
        }
    }

    @Test("every proper prefix of every other type's encoding throws truncated")
    func everyTruncationThrowsForStateTypes() {
        /// Checks every prefix of `value`'s encoding.
        func check<T: WireCodable>(_ value: T) {
            let bytes = value.encoded()
            for length in 0..<bytes.count {
                let error = Self.decodeError(T.self, Array(bytes[..<length]))
                #expect(Self.isTruncated(error), "\(T.self): prefix \(length) gave \(String(describing: error))")
            }
        }
        check(Raft.HardState(term: 300, vote: 70_000, commit: 299))
        check(Samples.snapshot)
        check(Samples.fiveNodes)
        for entry in Samples.entries { check(entry) }
    }

    @Test("decode rejects bytes after a complete value")
    func trailingBytes() {
        for message in Samples.messages {
            let bytes = message.encoded()
            #expect(Self.decodeError(Raft.Message.self, bytes + [0]) == .trailingBytes(1))
            #expect(Self.decodeError(Raft.Message.self, bytes + bytes) == .trailingBytes(bytes.count))
        }
        #expect(Self.decodeError(Raft.Entry.self, Samples.entries[2].encoded() + [1, 2, 3]) == .trailingBytes(3))
    }

    @Test("unknown tags throw invalidTag")
    func unknownTags() {
        #expect(Self.decodeError(Raft.Payload.self, [0]) == .invalidTag(0, type: "Payload"))
        #expect(Self.decodeError(Raft.Payload.self, [4]) == .invalidTag(4, type: "Payload"))
        #expect(Self.decodeError(Raft.Message.Kind.self, [0]) == .invalidTag(0, type: "Message.Kind"))
        #expect(Self.decodeError(Raft.Message.self, [1, 2, 5, 11]) == .invalidTag(11, type: "Message.Kind"))
        #expect(Self.decodeError(Raft.Message.self, [1, 2, 5, 0xFF]) == .invalidTag(0xFF, type: "Message.Kind"))
        #expect(Self.decodeError(Raft.Entry.self, [1, 1, 9]) == .invalidTag(9, type: "Payload"))
    }

    @Test("configurations out of order, with duplicates, or with a voter who is also a learner are invalid")
    func invalidConfigurations() {
        #expect(Self.decodeError(Raft.Configuration.self, [2, 2, 1, 0]) != nil)
        #expect(Self.decodeError(Raft.Configuration.self, [2, 1, 1, 0]) != nil)
        #expect(Self.decodeError(Raft.Configuration.self, [0, 2, 3, 3]) != nil)
        #expect(
            Self.decodeError(Raft.Configuration.self, [2, 1, 3, 2, 2, 3])
                == .invalid("node 3 is both a voter and a learner")
        )
        #expect(
            Self.decodeError(Raft.Configuration.self, [2, 2, 1, 0])
                == .invalid("Configuration.voters must be strictly ascending, but 1 follows 2")
        )
    }

    @Test("Booleans other than 0 and 1 are invalid")
    func invalidBooleans() {
        #expect(
            Self.decodeError(Raft.VoteResponse.self, [1, 2])
                == .invalid("VoteResponse.preVote is 2, but a Boolean must be 0 or 1")
        )
        #expect(Self.decodeError(Raft.Message.self, [1, 2, 5, 2, 7, 0, 0, 0]) != nil)
    }

    @Test("lengths and counts above the caller's limit throw lengthTooLarge")
    func lengthLimits() {
        let entry = Raft.Entry(index: 1, term: 1, payload: .command(Array(repeating: 7, count: 1000)))
        #expect(
            Self.decodeError(Raft.Entry.self, entry.encoded(), lengthLimit: 999)
                == .lengthTooLarge(1000, limit: 999, field: "Payload.command")
        )
        #expect(Self.decodeError(Raft.Entry.self, entry.encoded(), lengthLimit: 1000) == nil)
        let append = Samples.messages[1]
        #expect(
            Self.decodeError(Raft.Message.self, append.encoded(), lengthLimit: 5)
                == .lengthTooLarge(6, limit: 5, field: "Append.entries")
        )
        // A corrupt entry count far beyond the input is caught before any array is reserved.
        #expect(
            Self.decodeError(Raft.Message.self, [1, 2, 5, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
                == .truncated(needed: 0xFFFF_FFFF, available: 0, field: "Append.entries")
        )
    }

    @Test("random bit flips never crash the decoder, and whatever decodes re-encodes to the same bytes")
    func bitFlips() {
        var random = SplitMix64(seed: 0xF11B_5EED)
        var decoded = 0
        for round in 0..<20_000 {
            let original =
                round % 2 == 0
                ? Samples.messages.randomElement(using: &random)!
                : Samples.message(using: &random)
            var bytes = original.encoded()
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            }
            do {
                let message = try Raft.Message.decode(bytes)
                decoded += 1
                #expect(message.encoded() == bytes, "canonical: \(bytes)")
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(decoded > 0, "some flips land in values and still decode")
    }

    @Test("random garbage never crashes the decoder of any type")
    func garbage() {
        var random = SplitMix64(seed: 0x6A5B_A6E)
        for _ in 0..<20_000 {
            let bytes = random.bytes(Int.random(in: 0...48, using: &random))
            _ = Self.decodeError(Raft.Message.self, bytes)
            _ = Self.decodeError(Raft.Entry.self, bytes)
            _ = Self.decodeError(Raft.HardState.self, bytes)
            _ = Self.decodeError(Raft.Snapshot.self, bytes)
            _ = Self.decodeError(Raft.Configuration.self, bytes, lengthLimit: 16)
        }
    }
}
