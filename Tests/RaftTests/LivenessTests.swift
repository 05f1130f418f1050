import Testing

@testable import Raft

/// The liveness extensions of the thesis: Pre-Vote (§9.6), CheckQuorum (§6.2) and leader stickiness (§4.2.3).
@Suite("Thesis §9.6, §6.2, §4.2.3: pre-vote, CheckQuorum, stickiness")
struct LivenessTests {
    @Test("Thesis §9.6 Pre-Vote: a partitioned node that keeps timing out does not increase its term")
    func preVoteKeepsTermOfPartitionedNode() {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(3)
        cluster.tick(times: 10 * cluster.options.electionTimeout)
        #expect(cluster.transcript.contains { $0.from == 3 && $0.voteRequest?.preVote == true })
        #expect(cluster[3].term == 1)
        #expect(cluster.servers[3]!.disk.hardState.term == 1)
        #expect(!cluster.transcript.contains { $0.from == 3 && $0.voteRequest?.preVote == false })
    }

    @Test("Thesis §9.6 Pre-Vote: a partitioned node that rejoins does not disrupt the leader")
    func rejoiningNodeDoesNotDisrupt() {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(3)
        cluster.tick(times: 10 * cluster.options.electionTimeout)
        cluster.heal()
        cluster.tick(times: 3)
        #expect(cluster.leader == 1)
        for id in cluster.ids { #expect(cluster[id].term == 1) }
        #expect(cluster[3].role == .follower)
        #expect(cluster[3].leader == 1)
        cluster.commit([9])
        #expect(cluster.servers[3]!.state == [9])
    }

    @Test("Without pre-vote the same partitioned node inflates its term and deposes the leader (why §9.6 exists)")
    func withoutPreVoteRejoiningNodeDisrupts() {
        var options = Raft.Options()
        options.preVote = false
        options.checkQuorum = false
        var cluster = Cluster(options: options)
        cluster.elect(1)
        cluster.isolate(3)
        cluster.tick(times: 10 * options.electionTimeout)
        #expect(cluster[3].term > 3)
        cluster.heal()
        cluster.tick(times: 3 * options.electionTimeout)
        #expect(cluster[1].term > 3)
        #expect(cluster.leadersByTerm.keys.contains { $0 > 1 })
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("Thesis §9.6: a pre-vote changes neither the voter's term nor its vote, and is granted in the future term")
    func preVoteChangesNothing() {
        var node = restoredNode(term: 1, logTerms: [1])
        node.step(voteMessage(from: 2, to: 1, term: 2, lastLog: at(1, 1), preVote: true))
        #expect(node.term == 1)
        #expect(node.vote == nil)
        let ready = node.handleReady()
        #expect(ready.hardState == nil)
        #expect(
            ready.messages == [
                Raft.Message(
                    from: 1,
                    to: 2,
                    term: 2,
                    kind: .voteResponse(Raft.VoteResponse(granted: true, preVote: true))
                )
            ]
        )
    }

    @Test(
        "Thesis §9.6: a pre-candidate keeps its term until a majority grants the pre-vote, then campaigns in term + 1"
    )
    func preCandidateCampaignsAfterPreVote() {
        var node = restoredNode(voters: [1, 2, 3, 4, 5], term: 1, logTerms: [1])
        while node.role != .preCandidate { node.tick() }
        var ready = node.handleReady()
        #expect(ready.hardState == nil)
        #expect(ready.messages.allSatisfy { $0.voteRequest?.preVote == true && $0.term == 2 })
        #expect(ready.messages.count == 4)
        let granted = Raft.Message.Kind.voteResponse(Raft.VoteResponse(granted: true, preVote: true))
        node.step(Raft.Message(from: 2, to: 1, term: 2, kind: granted))
        #expect(node.role == .preCandidate && node.term == 1)
        node.step(Raft.Message(from: 3, to: 1, term: 2, kind: granted))
        #expect(node.role == .candidate)
        #expect(node.term == 2)
        ready = node.handleReady()
        #expect(ready.hardState == Raft.HardState(term: 2, vote: 1, commit: 0))
        #expect(ready.messages.allSatisfy { $0.voteRequest?.preVote == false && $0.term == 2 })
    }

    @Test("Thesis §6.2 CheckQuorum: a leader cut off from the majority steps down after an election timeout")
    func leaderWithoutQuorumStepsDown() throws {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(1)
        let timeout = cluster.options.electionTimeout
        var ticks = 0
        while cluster[1].role == .leader && ticks < 10 * timeout {
            cluster.tick([1])
            ticks += 1
        }
        #expect(cluster[1].role == .follower)
        #expect(cluster[1].term == 1)
        #expect(cluster[1].leader == nil)
        // It heard from both followers just before the cut, so it keeps that period, then loses the next one.
        #expect((timeout...2 * timeout).contains(ticks), "stepped down after \(ticks) ticks")
    }

    @Test("Thesis §6.2 CheckQuorum: a leader that still hears from a majority keeps leading")
    func leaderWithQuorumStays() {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(3)
        cluster.tick([1, 2], times: 10 * cluster.options.electionTimeout)
        #expect(cluster.leader == 1)
        #expect(cluster[1].term == 1)
    }

    @Test(
        "Thesis §4.2.3: a follower that heard from the leader within the election timeout ignores a higher-term vote",
        arguments: [false, true]
    )
    func leaderStickiness(preVote: Bool) {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.tick(times: 2)
        var follower = cluster[2]
        let vote = follower.vote
        #expect(follower.leader == 1)
        follower.step(voteMessage(from: 3, to: 2, term: 5, lastLog: at(9, 9), preVote: preVote))
        #expect(follower.term == 1)
        #expect(follower.vote == vote)
        #expect(follower.leader == 1)
        let ready = follower.handleReady()
        #expect(ready.hardState == nil)
        #expect(ready.messages.isEmpty)
    }

    @Test("Thesis §4.2.3: stickiness does not apply once the timeout passed, nor to an election the leader asked for")
    func stickinessEnds() {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.tick(times: 2)
        let request = voteMessage(from: 3, to: 2, term: 5, lastLog: at(9, 9))

        var transferred = cluster[2]
        transferred.step(voteMessage(from: 3, to: 2, term: 5, lastLog: at(9, 9), leadershipTransfer: true))
        #expect(transferred.term == 5)
        #expect(transferred.vote == 3)

        var silent = cluster[2]
        for _ in 0..<cluster.options.electionTimeout { silent.tick() }
        silent.step(request)
        #expect(silent.term == 5)
        #expect(silent.vote == 3)
    }
}

/// The shell's hint that the leader's process is gone (its connection closed).
@Suite("Early campaign when the leader's connection closes")
struct LeaderConnectionLostTests {
    @Test(
        "followers told the leader's connection closed elect a new leader within a fifth of the election timeout, without splitting the vote",
        arguments: 1...20 as ClosedRange<UInt64>
    )
    func fastFailover(seed: UInt64) {
        var options = Raft.Options()
        options.electionTimeout = 100
        var cluster = Cluster(options: options, seed: seed)
        cluster.elect(1)
        cluster.commit([1])
        cluster.crash(1)
        for id: Raft.NodeID in [2, 3] { cluster.servers[id]!.node.leaderConnectionLost(1) }
        let budget = cluster.options.electionTimeout / 5 + 2
        var ticks = 0
        while ticks < budget && cluster.leader.map({ $0 == 1 }) != false {
            cluster.tick([2, 3])
            ticks += 1
        }
        let leader = cluster.leader
        #expect(leader == 2 || leader == 3, "no new leader after \(ticks) ticks")
        #expect(ticks <= budget)
        #expect(cluster.leadersByTerm.values.allSatisfy { $0.count == 1 })
        #expect(cluster[2].term == 2 && cluster[3].term == 2, "one election round, no split vote")
    }

    @Test("when the first follower in turn is down too, the next one takes over within its slot (5 nodes)")
    func nextInTurn() {
        var options = Raft.Options()
        options.electionTimeout = 100
        var cluster = Cluster(voters: [1, 2, 3, 4, 5], options: options)
        cluster.elect(1)
        cluster.commit([1])
        cluster.crash(1)
        cluster.crash(2)
        for id: Raft.NodeID in [3, 4, 5] { cluster.servers[id]!.node.leaderConnectionLost(1) }
        cluster.tick([3, 4, 5], times: 2 * (options.electionTimeout / 10) + 2)
        #expect(cluster.leader == 3)
    }

    @Test("a wrong suspicion does not disturb a live leader: the others refuse the pre-vote, the term stays")
    func wrongSuspicionIsHarmless() {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.commit([1])
        cluster.servers[3]!.node.leaderConnectionLost(1)
        cluster.tick(times: cluster.options.electionTimeout / 5 + 2)
        #expect(cluster.leader == 1)
        for id in cluster.ids { #expect(cluster[id].term == 1) }
        cluster.commit([2])
        #expect(cluster.servers[3]!.state == [1, 2])
    }

    @Test("the hint is ignored unless it names this follower's current leader")
    func ignoredForOthers() {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.servers[3]!.node.leaderConnectionLost(2)
        cluster.servers[1]!.node.leaderConnectionLost(1)
        cluster.tick([3], times: cluster.options.electionTimeout / 5 + 2)
        #expect(!cluster.transcript.contains { $0.from == 3 && $0.voteRequest != nil })
    }
}
