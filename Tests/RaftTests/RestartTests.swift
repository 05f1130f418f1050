import Testing

@testable import Raft

/// Proposals on non-leaders, and what a node keeps and loses across a crash (Figure 2, "Persistent state").
@Suite("Proposals and restarts")
struct RestartTests {
    @Test("Proposals on a follower are refused with .notLeader naming the leader it knows, and append nothing")
    func followerRefusesWithHint() {
        var cluster = Cluster()
        cluster.elect(1)
        let before = cluster[2].logPositions
        #expect(cluster[2].propose([1]).refusal == .notLeader(leaderHint: 1))
        #expect(cluster[2].proposeBatch([[1], [2]]).refusal == .notLeader(leaderHint: 1))
        #expect(cluster[2].logPositions == before)
        #expect(cluster[2].handleReady().entries.isEmpty)
        #expect(Raft.ProposalRefusal.notLeader(leaderHint: 1).description == "not the leader; node 1 is")
    }

    @Test("Proposals with no known leader are refused with .notLeader(leaderHint: nil)")
    func noLeaderRefuses() {
        var options = Raft.Options()
        options.preVote = false
        var node = restoredNode(options: options)
        #expect(node.propose([1]).refusal == .notLeader(leaderHint: nil))
        while node.role != .candidate { node.tick() }
        #expect(node.propose([1]).refusal == .notLeader(leaderHint: nil))
        #expect(node.log.lastIndex == 0)
        #expect(
            Raft.ProposalRefusal.notLeader(leaderHint: nil).description == "not the leader, and no leader is known"
        )
    }

    @Test(
        "Figure 2 'Persistent state': a restarted node keeps its term, vote, log and commit index",
        arguments: [1, 2, 3] as [Raft.NodeID]
    )
    func restartKeepsPersistentState(id: Raft.NodeID) {
        var cluster = Cluster()
        cluster.elect(1)
        for byte in UInt8(1)...3 { cluster.commit([byte]) }
        let before = cluster[id]
        cluster.crash(id)
        cluster.restart(id)
        let after = cluster[id]
        #expect(after.term == before.term)
        #expect(after.vote == before.vote)
        #expect(after.logPositions == before.logPositions)
        #expect(after.log.entries == before.log.entries)
        #expect(after.log.commitIndex == before.log.commitIndex)
        #expect(after.role == .follower)
        #expect(after.leader == nil)
    }

    @Test("Figure 2: a restarted voter does not vote again for another candidate in the same term")
    func restartedVoterKeepsVote() {
        var options = Raft.Options()
        options.checkQuorum = false
        var cluster = Cluster(options: options)
        cluster.elect(1)
        cluster.restart(2)
        #expect(cluster[2].vote == 1)
        cluster[2].step(voteMessage(from: 3, to: 2, term: 1, lastLog: at(9, 9)))
        #expect(cluster[2].vote == 1)
        #expect(
            cluster[2].handleReady().messages.compactMap(\.voteResponse) == [
                Raft.VoteResponse(granted: false, preVote: false)
            ]
        )
    }

    @Test("Entries a follower took from a Ready but never wrote are lost in a crash, and the cluster recovers them")
    func followerLosesUnpersistedEntries() throws {
        var cluster = Cluster()
        cluster.elect(1)
        let position = try cluster[1].propose([0x61]).get()
        cluster.process(1)
        cluster.deliver { $0.to == 2 }
        // Node 2's shell takes the Ready (the entry and its acknowledgement) and crashes before writing anything.
        let lost = cluster[2].ready()
        #expect(lost.entries.map(\.position) == [position])
        #expect(lost.messages.allSatisfy { !$0.mayBeSentBeforePersisting })
        cluster.crash(2)
        cluster.restart(2)
        #expect(cluster[2].log.lastIndex == position.index - 1)

        cluster.stabilize()
        cluster.tick(times: 3)
        #expect(cluster[1].log.commitIndex >= position.index)
        #expect(cluster[2].log.entry(at: position.index)?.position == position)
        #expect(cluster.servers[2]!.state == [0x61])
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("Entries a leader sent before persisting and then lost in a crash survive on the followers")
    func leaderLosesUnpersistedEntries() throws {
        var cluster = Cluster()
        cluster.elect(1)
        let position = try cluster[1].propose([0x62]).get()
        // The leader may send its appends before its own write (thesis §10.2.1); it crashes before that write.
        let lost = cluster[1].ready()
        #expect(lost.entries.map(\.position) == [position])
        #expect(lost.messages.allSatisfy { $0.mayBeSentBeforePersisting })
        cluster.send(lost.messages)
        cluster.crash(1)
        cluster.restart(1)
        #expect(cluster[1].log.lastIndex == position.index - 1)
        #expect(cluster[1].log.commitIndex < position.index)

        cluster.stabilize()
        for _ in 0..<200 where cluster.leader == nil { cluster.tick() }
        cluster.tick(times: 3)
        let leader = try #require(cluster.leader)
        #expect(leader != 1, "node 1 lost the entry, so the others' logs are more up-to-date")
        for id in cluster.ids {
            #expect(cluster[id].log.entry(at: position.index)?.position == position, "node \(id)")
            #expect(cluster.servers[id]!.state == [0x62], "node \(id)")
        }
        #expect(cluster.safetyViolations.isEmpty)
    }
}
