import Raft

/// Values of every Raft type and every message kind, fixed and random, for the codec tests.
enum Samples {
    /// A configuration with learners.
    static let fiveNodes = Raft.Configuration(voters: [3, 1, 2], learners: [5, 4])

    /// One entry of each payload kind, including an empty command and a configuration with learners.
    static let entries: [Raft.Entry] = [
        Raft.Entry(index: 1, term: 1, payload: .empty),
        Raft.Entry(index: 2, term: 1, payload: .command([])),
        Raft.Entry(index: 3, term: 2, payload: .command([0x00, 0xFF, 0x80, 0x7F])),
        Raft.Entry(index: 4, term: 2, payload: .configuration(fiveNodes)),
        Raft.Entry(index: 5, term: 3, payload: .configuration(.empty)),
        Raft.Entry(index: .max, term: .max, payload: .command(Array(repeating: 0xAA, count: 300))),
    ]

    /// A snapshot with data and a configuration with learners.
    static let snapshot = Raft.Snapshot(
        metadata: Raft.SnapshotMetadata(last: Raft.LogPosition(index: 90, term: 7), configuration: fiveNodes),
        data: Array(0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    )

    /// Every message kind at least once, small enough to decode at every prefix length.
    static let messages: [Raft.Message] = [
        message(.append(Raft.Append(previous: Raft.LogPosition(index: 0, term: 0), entries: [], leaderCommit: 0))),
        message(.append(Raft.Append(previous: Raft.LogPosition(index: 9, term: 2), entries: entries, leaderCommit: 8))),
        message(.appendResponse(Raft.AppendResponse(success: true, index: 12))),
        message(.appendResponse(Raft.AppendResponse(success: false, index: 12, hintIndex: 10, hintTerm: 3))),
        vote(preVote: false, leadershipTransfer: false),
        vote(preVote: true, leadershipTransfer: false),
        vote(preVote: false, leadershipTransfer: true),
        message(.voteResponse(Raft.VoteResponse(granted: true, preVote: false))),
        message(.voteResponse(Raft.VoteResponse(granted: false, preVote: true))),
        message(.heartbeat(Raft.Heartbeat(commit: 77, readRound: 3))),
        message(.heartbeatResponse(Raft.HeartbeatResponse(readRound: 3))),
        message(.snapshot(snapshot)),
        message(
            .snapshot(
                Raft.Snapshot(
                    metadata: Raft.SnapshotMetadata(last: Raft.LogPosition(index: 0, term: 0), configuration: .empty),
                    data: []
                )
            )
        ),
        message(.timeoutNow),
        message(.readIndex(context: 0xDEAD_BEEF)),
        message(.readIndexResponse(context: 0xDEAD_BEEF, index: 1234)),
        Raft.Message(from: .max, to: .max, term: .max, kind: .readIndexResponse(context: .max, index: .max)),
    ]

    /// A message from node 1 to node 2 in term 5.
    static func message(_ kind: Raft.Message.Kind) -> Raft.Message {
        Raft.Message(from: 1, to: 2, term: 5, kind: kind)
    }

    /// A vote request from a candidate whose last entry is 5@4.
    static func vote(preVote: Bool, leadershipTransfer: Bool) -> Raft.Message {
        message(
            .vote(
                Raft.VoteRequest(
                    lastLog: Raft.LogPosition(index: 5, term: 4),
                    preVote: preVote,
                    leadershipTransfer: leadershipTransfer
                )
            )
        )
    }

    /// The tag-order position of a kind; the exhaustive switch makes a new case fail to compile here until it has
    /// samples.
    static func ordinal(of kind: Raft.Message.Kind) -> Int {
        switch kind {
        case .append: return 0
        case .appendResponse: return 1
        case .vote: return 2
        case .voteResponse: return 3
        case .heartbeat: return 4
        case .heartbeatResponse: return 5
        case .snapshot: return 6
        case .timeoutNow: return 7
        case .readIndex: return 8
        case .readIndexResponse: return 9
        }
    }

    /// The number of `Message.Kind` cases.
    static let kindCount = 10

    /// A random configuration, possibly empty, possibly with learners.
    static func configuration(using random: inout SplitMix64) -> Raft.Configuration {
        let voters = (0..<Int.random(in: 0...7, using: &random)).map { _ in random.wideValue() | 1 }
        let learners = (0..<Int.random(in: 0...3, using: &random)).map { _ in random.wideValue() | 1 }
        return Raft.Configuration(voters: voters, learners: learners)
    }

    /// A random entry of a random payload kind.
    static func entry(using random: inout SplitMix64) -> Raft.Entry {
        let payload: Raft.Payload
        switch Int.random(in: 0..<3, using: &random) {
        case 0: payload = .empty
        case 1: payload = .command(random.bytes(Int.random(in: 0...40, using: &random)))
        default: payload = .configuration(configuration(using: &random))
        }
        return Raft.Entry(index: random.wideValue(), term: random.wideValue(), payload: payload)
    }

    /// A random position.
    static func position(using random: inout SplitMix64) -> Raft.LogPosition {
        Raft.LogPosition(index: random.wideValue(), term: random.wideValue())
    }

    /// A random message of a random kind.
    static func message(using random: inout SplitMix64) -> Raft.Message {
        let kind: Raft.Message.Kind
        switch Int.random(in: 0..<kindCount, using: &random) {
        case 0:
            let entries = (0..<Int.random(in: 0...5, using: &random)).map { _ in entry(using: &random) }
            kind = .append(
                Raft.Append(previous: position(using: &random), entries: entries, leaderCommit: random.wideValue())
            )
        case 1:
            kind = .appendResponse(
                Raft.AppendResponse(
                    success: Bool.random(using: &random),
                    index: random.wideValue(),
                    hintIndex: random.wideValue(),
                    hintTerm: random.wideValue()
                )
            )
        case 2:
            kind = .vote(
                Raft.VoteRequest(
                    lastLog: position(using: &random),
                    preVote: Bool.random(using: &random),
                    leadershipTransfer: Bool.random(using: &random)
                )
            )
        case 3:
            kind = .voteResponse(
                Raft.VoteResponse(granted: Bool.random(using: &random), preVote: Bool.random(using: &random))
            )
        case 4: kind = .heartbeat(Raft.Heartbeat(commit: random.wideValue(), readRound: random.wideValue()))
        case 5: kind = .heartbeatResponse(Raft.HeartbeatResponse(readRound: random.wideValue()))
        case 6:
            kind = .snapshot(
                Raft.Snapshot(
                    metadata: Raft.SnapshotMetadata(
                        last: position(using: &random),
                        configuration: configuration(using: &random)
                    ),
                    data: random.bytes(Int.random(in: 0...64, using: &random))
                )
            )
        case 7: kind = .timeoutNow
        case 8: kind = .readIndex(context: random.wideValue())
        default: kind = .readIndexResponse(context: random.wideValue(), index: random.wideValue())
        }
        return Raft.Message(from: random.wideValue(), to: random.wideValue(), term: random.wideValue(), kind: kind)
    }
}
