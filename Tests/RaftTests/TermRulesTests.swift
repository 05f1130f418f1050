import Testing

@testable import Raft

/// Figure 2, "Rules for Servers — All Servers", and the RequestVote receiver rules.
@Suite("Figure 2: terms and RequestVote")
struct TermRulesTests {
    /// Options without CheckQuorum, so leader stickiness (thesis §4.2.3) cannot mask the basic term rule.
    static let withoutStickiness: Raft.Options = {
        var options = Raft.Options()
        options.checkQuorum = false
        options.preVote = false
        return options
    }()

    /// Messages of every kind a node can receive, from node 2 in term 5, with the leader the recipient should then
    /// follow.
    static let higherTermMessages: [(name: String, kind: Raft.Message.Kind, leader: Raft.NodeID?)] = [
        ("append", .append(Raft.Append(previous: at(0, 0), entries: [], leaderCommit: 0)), 2),
        ("heartbeat", .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0)), 2),
        (
            "snapshot",
            .snapshot(
                Raft.Snapshot(
                    metadata: Raft.SnapshotMetadata(
                        last: at(0, 0),
                        configuration: Raft.Configuration(voters: [1, 2, 3])
                    ),
                    data: []
                )
            ),
            2
        ),
        ("appendResponse", .appendResponse(Raft.AppendResponse(success: false, index: 0)), nil),
        ("heartbeatResponse", .heartbeatResponse(Raft.HeartbeatResponse(readRound: 0)), nil),
        ("voteResponse", .voteResponse(Raft.VoteResponse(granted: false, preVote: false)), nil),
        ("vote", .vote(Raft.VoteRequest(lastLog: at(9, 9), preVote: false, leadershipTransfer: false)), nil),
        ("readIndex", .readIndex(context: 1), nil),
        ("readIndexResponse", .readIndexResponse(context: 1, index: 0), nil),
    ]

    /// A node 1 in `role` (candidate or leader) of a three-node cluster, in a term below 5.
    static func node(in role: Raft.Role) -> Raft.Node {
        var cluster = Cluster(options: withoutStickiness)
        if role == .leader {
            cluster.elect(1)
        } else {
            while cluster[1].role != role { cluster[1].tick() }
            cluster.process(1)
        }
        return cluster[1]
    }

    @Test(
        "All servers: 'If RPC … contains term T > currentTerm: set currentTerm = T, convert to follower'",
        arguments: [Raft.Role.candidate, .leader],
        higherTermMessages
    )
    func higherTermConvertsToFollower(
        role: Raft.Role,
        message: (name: String, kind: Raft.Message.Kind, leader: Raft.NodeID?)
    ) throws {
        var node = Self.node(in: role)
        try #require(node.role == role && node.term < 5)
        node.step(Raft.Message(from: 2, to: 1, term: 5, kind: message.kind))
        #expect(node.role == .follower, "\(message.name)")
        #expect(node.term == 5, "\(message.name)")
        #expect(node.leader == message.leader, "\(message.name)")
        let ready = node.handleReady()
        #expect(ready.hardState?.term == 5, "the new term is persisted: \(message.name)")
    }

    @Test("All servers: a message from a lower term changes nothing on the recipient")
    func lowerTermIsIgnored() {
        var node = restoredNode(term: 3, commit: 1, logTerms: [1, 1])
        let before = node.logPositions
        node.step(appendMessage(from: 2, to: 1, term: 2, previous: at(2, 1), entries: entries(terms: [2], from: 3)))
        node.step(Raft.Message(from: 2, to: 1, term: 2, kind: .heartbeat(Raft.Heartbeat(commit: 2, readRound: 1))))
        #expect(node.logPositions == before)
        #expect(node.term == 3)
        #expect(node.leader == nil)
        #expect(node.log.commitIndex == 1)
        let ready = node.handleReady()
        #expect(ready.hardState == nil)
        #expect(ready.entries.isEmpty)
        // The stale sender is told the newer term (a failed append response), so it steps down.
        #expect(ready.messages.count == 2)
        #expect(ready.messages.allSatisfy { $0.term == 3 && $0.appendResponse?.success == false && $0.to == 2 })
    }

    @Test(
        "All servers: a stale leader's append gets a response carrying the newer term, and the stale leader steps down"
    )
    func staleLeaderStepsDown() throws {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(1)
        // Node 1's clock stands still, so CheckQuorum cannot depose it: only the newer term can.
        for _ in 0..<100 where cluster.leader == 1 { cluster.tick([2, 3]) }
        let newLeader = try #require(cluster.leader)
        #expect(newLeader != 1)
        #expect(cluster[1].role == .leader && cluster[1].term == 1)
        let newTerm = cluster[newLeader].term

        cluster.heal()
        let stale = try cluster[1].propose([0xEE]).get()
        cluster.stabilize()
        let answers = cluster.transcript.filter { $0.to == 1 && $0.appendResponse != nil && $0.term == newTerm }
        #expect(!answers.isEmpty, "the followers answered the stale append with their newer term")
        #expect(cluster[1].role == .follower)
        #expect(cluster[1].term == newTerm)

        // The stale leader's uncommitted entry is overwritten by the new leader's log.
        cluster.tick(times: 3)
        #expect(cluster[1].logPositions == cluster[newLeader].logPositions)
        #expect(!cluster[1].logPositions.contains(stale))
        #expect(cluster.safetyViolations.isEmpty)
    }

    // MARK: RequestVote

    @Test("RequestVote: 'Reply false if term < currentTerm' — with the current term, for vote and pre-vote alike")
    func voteFromOlderTermIsRefused() {
        var node = restoredNode(term: 3, logTerms: [1])
        node.step(voteMessage(from: 2, to: 1, term: 2, lastLog: at(5, 2)))
        node.step(voteMessage(from: 3, to: 1, term: 2, lastLog: at(5, 2), preVote: true))
        #expect(node.vote == nil)
        #expect(node.term == 3)
        let ready = node.handleReady()
        #expect(ready.hardState == nil)
        #expect(!ready.messages.contains { $0.voteResponse?.granted == true })
        // The refusal carries term 3, so the candidate learns it is behind (Figure 2, "All servers").
        let refusal = Raft.VoteResponse(granted: false, preVote: false)
        let preVoteRefusal = Raft.VoteResponse(granted: false, preVote: true)
        #expect(
            ready.messages == [
                Raft.Message(from: 1, to: 2, term: 3, kind: .voteResponse(refusal)),
                Raft.Message(from: 1, to: 3, term: 3, kind: .voteResponse(preVoteRefusal)),
            ]
        )
    }

    @Test("RequestVote: without the reply's newer term, a candidate behind in term can never be elected (no pre-vote)")
    func laggingCandidateLearnsTermFromRefusal() throws {
        // Founding voters {1, 2, 4}; node 3 joined, then 1 and 4 were removed (entries 2–5). Node 3 has it all, but
        // its last change (to {2, 3}) is uncommitted; node 2 missed every change and, partitioned meanwhile, pushed
        // its term to 1000 campaigning among {1, 2, 4}. Nodes 1 and 4 are gone. Only node 3 can win, with node 2's
        // vote, and only once it learns that term 1000 exists: the answer to its vote request is how it learns it.
        let founding = Raft.Configuration(voters: [1, 2, 4])
        let changes: [Raft.Configuration] = [
            Raft.Configuration(voters: [1, 2, 4], learners: [3]),
            Raft.Configuration(voters: [1, 2, 3, 4]),
            Raft.Configuration(voters: [2, 3, 4]),
            Raft.Configuration(voters: [2, 3]),
        ]
        let history =
            [Raft.Entry(index: 1, term: 1, payload: .empty)]
            + changes.enumerated().map { Raft.Entry(index: UInt64($0 + 2), term: 1, payload: .configuration($1)) }
        var options = Raft.Options()
        options.preVote = false
        options.checkQuorum = false
        var cluster = Cluster(voters: [1, 2, 4], options: options)
        cluster.addServer(
            2,
            bootstrap: founding,
            persisted: Raft.PersistentState(
                hardState: Raft.HardState(term: 1000, commit: 1),
                entries: Array(history.prefix(1))
            )
        )
        cluster.addServer(
            3,
            persisted: Raft.PersistentState(hardState: Raft.HardState(term: 1, commit: 4), entries: history)
        )
        cluster.crash(1)
        cluster.crash(4)
        #expect(cluster[3].configuration == Raft.Configuration(voters: [2, 3]))

        cluster.tick([2, 3], times: 50 * options.electionTimeout)
        #expect(cluster[3].term >= 1000, "node 3 never learned the current term")
        let leader = try #require(cluster.leader, "no leader although both voters of {2, 3} are up")
        #expect(leader == 3)
        #expect(cluster[3].log.commitIndex >= 5)
    }

    @Test("RequestVote: 'votedFor is null or candidateId' — at most one vote per term, first come first served")
    func oneVotePerTerm() {
        var node = restoredNode(term: 1, logTerms: [1], options: Self.withoutStickiness)
        node.step(voteMessage(from: 2, to: 1, term: 2, lastLog: at(1, 1)))
        node.step(voteMessage(from: 3, to: 1, term: 2, lastLog: at(1, 1)))
        // A retransmitted request from the candidate already voted for is granted again.
        node.step(voteMessage(from: 2, to: 1, term: 2, lastLog: at(1, 1)))
        #expect(node.vote == 2)
        let responses = node.handleReady().messages.compactMap { message in
            message.voteResponse.map { (message.to, $0.granted) }
        }
        #expect(responses.map(\.0) == [2, 3, 2])
        #expect(responses.map(\.1) == [true, false, true])
    }

    @Test(
        "RequestVote §5.4.1: grant only if the candidate's log is at least as up-to-date (last term, then length)",
        arguments: [
            // Voter's log ends at 3@2.
            (at(2, 3), true),  // later last term, shorter log: more up-to-date
            (at(9, 1), false),  // longer log but earlier last term: less up-to-date
            (at(4, 2), true),  // same last term, longer
            (at(3, 2), true),  // identical
            (at(2, 2), false),  // same last term, shorter
        ]
    )
    func upToDateCheck(candidateLast: Raft.LogPosition, granted: Bool) {
        var node = restoredNode(term: 2, logTerms: [1, 2, 2])
        node.step(voteMessage(from: 2, to: 1, term: 3, lastLog: candidateLast))
        #expect(node.term == 3)
        #expect(node.vote == (granted ? 2 : nil))
        let responses = node.handleReady().messages.compactMap(\.voteResponse)
        #expect(responses == [Raft.VoteResponse(granted: granted, preVote: false)])
    }

    @Test("injected .grantVoteWithoutLogCheck grants a vote to a less up-to-date candidate (proves the switch)")
    func injectedVoteBug() {
        var options = Raft.Options()
        options.injectedBugs = [.grantVoteWithoutLogCheck]
        var node = restoredNode(term: 2, logTerms: [1, 2, 2], options: options)
        node.step(voteMessage(from: 2, to: 1, term: 3, lastLog: at(9, 1)))
        #expect(node.vote == 2)
    }

    @Test("RequestVote: the vote is in the same Ready as the hard state recording it, and may not be sent before it")
    func voteIsPersistedBeforeItIsSent() throws {
        var node = restoredNode(term: 1, logTerms: [1])
        node.step(voteMessage(from: 2, to: 1, term: 2, lastLog: at(1, 1)))
        let ready = node.handleReady()
        #expect(ready.hardState == Raft.HardState(term: 2, vote: 2, commit: 0))
        let response = try #require(ready.messages.first { $0.voteResponse != nil })
        #expect(response.voteResponse?.granted == true)
        #expect(!response.mayBeSentBeforePersisting)
    }

    @Test("Candidates: 'Vote for self' — persisted in the same Ready as the vote requests, which wait for it")
    func candidateVoteIsPersistedBeforeRequests() {
        var node = restoredNode(term: 4, logTerms: [1], options: Self.withoutStickiness)
        while node.role == .follower { node.tick() }
        let ready = node.handleReady()
        #expect(ready.hardState == Raft.HardState(term: 5, vote: 1, commit: 0))
        let requests = ready.messages.filter { $0.voteRequest != nil }
        #expect(requests.map(\.to) == [2, 3])
        #expect(requests.allSatisfy { $0.term == 5 && $0.voteRequest?.lastLog == at(1, 1) })
        #expect(requests.allSatisfy { !$0.mayBeSentBeforePersisting })
    }
}
