import Testing

@testable import Raft

/// Handing leadership to a chosen voter (thesis §3.10).
@Suite("Thesis §3.10: leadership transfer")
struct LeadershipTransferTests {
    /// A cluster led by node 1 where node 3 missed the last three committed commands.
    static func clusterWithLaggingNode3() -> Cluster {
        var cluster = Cluster()
        cluster.elect(1)
        for byte in UInt8(1)...3 {
            _ = cluster[1].propose([byte])
            cluster.stabilize(delivering: { $0.to != 3 })
        }
        cluster.drop { $0.to == 3 }
        return cluster
    }

    @Test("Thesis §3.10: the leader brings the target up to date, then sends TimeoutNow; the target wins the next term")
    func transferToLaggingTarget() throws {
        var cluster = Self.clusterWithLaggingNode3()
        let lastIndex = cluster[1].log.lastIndex
        #expect(cluster[3].log.lastIndex < lastIndex)
        try cluster[1].transferLeadership(to: 3).get()
        #expect(cluster[1].transferTarget == 3)
        cluster.stabilize()

        let timeoutNow = try #require(cluster.transcript.firstIndex { $0.isTimeoutNow })
        #expect(cluster.transcript[timeoutNow].from == 1 && cluster.transcript[timeoutNow].to == 3)
        let lastAck = cluster.transcript[..<timeoutNow].last { $0.from == 3 && $0.appendResponse?.success == true }
        #expect(lastAck?.appendResponse?.index == lastIndex, "TimeoutNow only once the target holds the whole log")

        #expect(cluster.leader == 3)
        #expect(cluster[3].term == 2)
        #expect(cluster[1].role == .follower && cluster[1].leader == 3)
        #expect(cluster[1].transferTarget == nil)
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("Thesis §3.10: the target campaigns at once on TimeoutNow, without pre-vote and past leader stickiness")
    func timeoutNowStartsRealElection() {
        var node = restoredNode(term: 1, logTerms: [1])
        node.step(Raft.Message(from: 2, to: 1, term: 1, kind: .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0))))
        _ = node.handleReady()
        node.step(Raft.Message(from: 2, to: 1, term: 1, kind: .timeoutNow))
        #expect(node.role == .candidate)
        #expect(node.term == 2)
        let requests = node.handleReady().messages.compactMap(\.voteRequest)
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { !$0.preVote && $0.leadershipTransfer })
    }

    @Test("Thesis §3.10: while a transfer runs, proposals are refused with .transferInProgress")
    func proposalsRefusedDuringTransfer() throws {
        var cluster = Self.clusterWithLaggingNode3()
        try cluster[1].transferLeadership(to: 3).get()
        #expect(cluster[1].propose([9]).refusal == .transferInProgress(to: 3))
        #expect(cluster[1].proposeBatch([[9], [10]]).refusal == .transferInProgress(to: 3))
        #expect(cluster[1].proposeConfigurationChange(.addLearner(4)).refusal == .transferInProgress(to: 3))
        // Asking again for the same target is harmless.
        try cluster[1].transferLeadership(to: 3).get()
    }

    @Test("Thesis §3.10: the transfer is abandoned after an election timeout if the target is unreachable")
    func transferAbortsAfterElectionTimeout() throws {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(3)
        try cluster[1].transferLeadership(to: 3).get()
        let timeout = cluster.options.electionTimeout
        cluster.tick([1, 2], times: timeout - 1)
        #expect(cluster[1].transferTarget == 3)
        #expect(cluster[1].propose([1]).refusal == .transferInProgress(to: 3))
        cluster.tick([1, 2])
        #expect(cluster[1].transferTarget == nil)
        #expect(cluster.leader == 1)
        #expect(cluster[1].term == 1)
        #expect(cluster[1].propose([1]).refusal == nil)
    }

    @Test("Thesis §3.10: transfer to a learner or a non-member is refused, and only a leader can transfer")
    func transferToNonVoterIsRefused() throws {
        var cluster = Cluster()
        cluster.elect(1)
        _ = try cluster[1].proposeConfigurationChange(.addLearner(4)).get()
        cluster.addServer(4)
        cluster.stabilize()
        #expect(cluster[1].configuration.learners == [4])

        let toLearner = cluster[1].transferLeadership(to: 4).refusal
        #expect(toLearner == .invalidConfigurationChange("node 4 is not a voter and cannot lead"))
        #expect(cluster[1].transferLeadership(to: 99).refusal != nil)
        #expect(cluster[1].transferTarget == nil)
        #expect(cluster[2].transferLeadership(to: 3).refusal == .notLeader(leaderHint: 1))
        // Transferring to itself is a no-op.
        try cluster[1].transferLeadership(to: 1).get()
        #expect(cluster[1].transferTarget == nil)
    }

    @Test("Thesis §3.10: a leader that loses its term abandons the transfer")
    func steppingDownEndsTransfer() throws {
        var cluster = Self.clusterWithLaggingNode3()
        try cluster[1].transferLeadership(to: 3).get()
        cluster[1].step(
            Raft.Message(from: 2, to: 1, term: 7, kind: .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0)))
        )
        #expect(cluster[1].role == .follower)
        #expect(cluster[1].transferTarget == nil)
    }
}
