import Testing

@testable import Raft

/// Leader election (§5.2).
@Suite("§5.2: leader election")
struct ElectionTests {
    /// Plain Raft elections: no pre-vote round, no CheckQuorum.
    static let plain: Raft.Options = {
        var options = Raft.Options()
        options.preVote = false
        options.checkQuorum = false
        return options
    }()

    @Test(
        "§5.2: a follower that hears nothing campaigns after a timeout drawn from [electionTimeout, 2×electionTimeout)"
    )
    func randomizedElectionTimeout() {
        let options = Raft.Options()
        var timeouts: Set<Int> = []
        for seed in UInt64(1)...50 {
            var node = restoredNode(options: options, seed: seed)
            var ticks = 0
            while node.role == .follower && ticks < 100 {
                node.tick()
                ticks += 1
            }
            #expect(node.role == .preCandidate, "seed \(seed)")
            #expect((options.electionTimeout..<2 * options.electionTimeout).contains(ticks), "seed \(seed): \(ticks)")
            timeouts.insert(ticks)
        }
        // Randomization is what makes split votes rare: the draws must actually differ.
        #expect(timeouts.count >= 5)
    }

    @Test(
        "§5.2: 'If election timeout elapses without receiving AppendEntries RPC from current leader' — hearing resets"
    )
    func followerHearingTheLeaderNeverCampaigns() {
        var node = restoredNode(term: 1)
        for _ in 0..<100 {
            node.tick()
            node.step(Raft.Message(from: 2, to: 1, term: 1, kind: .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0))))
            _ = node.handleReady()
        }
        #expect(node.role == .follower)
        #expect(node.leader == 2)
        #expect(node.term == 1)
    }

    @Test("Candidates: 'If votes received from majority of servers: become leader' (and not before)")
    func majorityMakesLeader() {
        var cluster = Cluster(voters: [1, 2, 3, 4, 5], options: Self.plain)
        while cluster[1].role != .candidate { cluster[1].tick() }
        cluster.process(1)
        // Votes from node 2 only: 2 of 5.
        cluster.deliver { $0.to == 2 }
        cluster.process(2)
        cluster.deliver { $0.to == 1 }
        #expect(cluster[1].role == .candidate)
        // A third vote, from node 3: a majority.
        cluster.deliver { $0.to == 3 }
        cluster.process(3)
        cluster.deliver { $0.to == 1 }
        #expect(cluster[1].role == .leader)
        #expect(cluster[1].term == 1)
    }

    @Test(
        "Candidates: 'If AppendEntries RPC received from new leader: convert to follower' (same term)",
        arguments: [
            Raft.Message.Kind.append(Raft.Append(previous: at(0, 0), entries: [], leaderCommit: 0)),
            .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0)),
        ]
    )
    func candidateYieldsToLeaderOfItsTerm(kind: Raft.Message.Kind) {
        var node = restoredNode(term: 1, options: Self.plain)
        while node.role != .candidate { node.tick() }
        #expect(node.term == 2)
        node.step(Raft.Message(from: 3, to: 1, term: 2, kind: kind))
        #expect(node.role == .follower)
        #expect(node.leader == 3)
        #expect(node.term == 2)
        #expect(node.vote == 1, "the vote of the term is kept")
    }

    @Test("Pre-candidates also yield to a leader of the current term")
    func preCandidateYieldsToLeader() {
        var node = restoredNode(term: 1)
        while node.role != .preCandidate { node.tick() }
        node.step(Raft.Message(from: 2, to: 1, term: 1, kind: .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0))))
        #expect(node.role == .follower)
        #expect(node.leader == 2)
        #expect(node.term == 1)
    }

    @Test("§5.2: split votes are resolved by randomized timeouts, with at most one leader per term")
    func splitVoteResolves() throws {
        var cluster = Cluster(voters: [1, 2, 3, 4], options: Self.plain, seed: 7)
        while cluster[1].role != .candidate { cluster[1].tick() }
        while cluster[2].role != .candidate { cluster[2].tick() }
        cluster.processAll()
        // Node 3 hears node 1 first and node 4 hears node 2 first: two votes each, three needed.
        cluster.deliver { $0.from == 1 && $0.to == 3 || $0.from == 2 && $0.to == 4 }
        cluster.stabilize()
        #expect(cluster[1].role == .candidate && cluster[2].role == .candidate)
        #expect(cluster[1].term == 1 && cluster[2].term == 1)
        #expect(cluster.leader == nil)

        for _ in 0..<200 where cluster.leader == nil { cluster.tick() }
        let leader = try #require(cluster.leader)
        #expect(cluster[leader].term >= 2)
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("§5.4.2 / thesis §6.4: a new leader appends an empty entry of its term at once")
    func newLeaderAppendsEmptyEntry() throws {
        var cluster = Cluster()
        cluster.elect(1)
        let leader = cluster[1]
        let last = try #require(leader.log.entries.last)
        #expect(last == Raft.Entry(index: 1, term: leader.term, payload: .empty))
        // It went out with the very first appends, and commits once a majority stores it.
        let firstAppends = cluster.transcript.filter { $0.from == 1 && $0.append != nil }.prefix(2)
        #expect(firstAppends.count == 2)
        #expect(firstAppends.allSatisfy { $0.append?.entries == [last] })
        #expect(leader.log.commitIndex == 1)
    }

    @Test("§5.2: a single-voter cluster elects itself and commits on its own durable write")
    func singleVoter() {
        var cluster = Cluster(voters: [1])
        cluster.elect(1)
        #expect(cluster[1].log.commitIndex == 1)
        let position = cluster.commit([7])
        #expect(position == at(2, 1))
        #expect(cluster.servers[1]!.state == [7])
    }

    @Test(
        "Leaders: heartbeats 'repeat during idle periods to prevent election timeouts'"
    )
    func heartbeatsKeepTheLeader() {
        var options = Raft.Options()
        options.heartbeatInterval = 3
        var cluster = Cluster(options: options)
        cluster.elect(1)
        let sentBefore = cluster.transcript.count
        cluster.tick([1], times: 3)
        let heartbeats = cluster.transcript[sentBefore...].filter { $0.heartbeat != nil }
        #expect(heartbeats.map(\.to) == [2, 3], "one heartbeat per follower every heartbeatInterval ticks")

        cluster.tick(times: 20 * options.electionTimeout)
        #expect(cluster.leader == 1)
        #expect(cluster.ids.allSatisfy { cluster[$0].term == 1 })
        #expect(!cluster.transcript.contains { $0.voteRequest != nil && $0.term > 1 })
    }
}
