import Testing

@testable import Raft

/// Single-server membership changes (thesis §4.1–§4.3).
@Suite("Thesis §4: membership changes")
struct MembershipTests {
    /// A three-voter cluster led by node 1 that has committed in its term.
    static func ledCluster() -> Cluster {
        var cluster = Cluster()
        cluster.elect(1)
        return cluster
    }

    /// A cluster led by node 1 with node 4 added as a learner and caught up.
    static func clusterWithLearner4() throws -> Cluster {
        var cluster = ledCluster()
        cluster.commit([1])
        _ = try cluster[1].proposeConfigurationChange(.addLearner(4)).get()
        cluster.addServer(4)
        cluster.stabilize()
        return cluster
    }

    @Test("Thesis §4.2.1: a learner receives the log and learns its configuration from it")
    func learnerReceivesLog() throws {
        let cluster = try Self.clusterWithLearner4()
        let expected = Raft.Configuration(voters: [1, 2, 3], learners: [4])
        for id in cluster.ids { #expect(cluster[id].configuration == expected, "node \(id)") }
        #expect(cluster[4].logPositions == cluster[1].logPositions)
        #expect(cluster.servers[4]!.state == [1])
        #expect(!cluster[4].isPromotable)
    }

    @Test("Thesis §4.2.1: a learner never campaigns and is never asked for its vote")
    func learnerNeverVotes() throws {
        var cluster = try Self.clusterWithLearner4()
        cluster.crash(1)
        cluster.tick([4], times: 10 * cluster.options.electionTimeout)
        #expect(cluster[4].role == .follower)
        #expect(!cluster.transcript.contains { $0.from == 4 && $0.voteRequest != nil })
        for _ in 0..<200 where cluster.leader == nil { cluster.tick([2, 3, 4]) }
        #expect(cluster.leader == 2 || cluster.leader == 3)
        #expect(!cluster.transcript.contains { $0.to == 4 && $0.voteRequest != nil })
    }

    @Test("Thesis §4.2.1: a learner's acknowledgement does not count toward commit")
    func learnerDoesNotCountForCommit() throws {
        var cluster = try Self.clusterWithLearner4()
        cluster.cut(1, 2)
        cluster.cut(1, 3)
        let position = try cluster[1].propose([2]).get()
        cluster.stabilize()
        #expect(cluster[4].log.lastIndex == position.index, "the learner stored the entry")
        #expect(cluster[1].log.commitIndex < position.index)
        cluster.heal()
        cluster.tick(times: 2)
        #expect(cluster[1].log.commitIndex >= position.index)
    }

    @Test("Thesis §4.2.1: a promoted learner votes and counts toward commit")
    func promotedLearnerCounts() throws {
        var cluster = try Self.clusterWithLearner4()
        _ = try cluster[1].proposeConfigurationChange(.promote(4)).get()
        cluster.stabilize()
        #expect(cluster[1].configuration == Raft.Configuration(voters: [1, 2, 3, 4]))
        #expect(cluster[4].isPromotable)

        // Four voters: a quorum is three. Nodes 1 and 4 alone cannot commit; with node 2 they can, so 4 counts.
        cluster.cut(1, 2)
        cluster.cut(1, 3)
        let position = try cluster[1].propose([2]).get()
        cluster.stabilize()
        #expect(cluster[1].log.commitIndex < position.index)
        cluster.heal()
        cluster.cut(1, 3)
        cluster.tick([1, 2, 4], times: 2)
        #expect(cluster[1].log.commitIndex >= position.index)
    }

    @Test("Thesis §4.1: removing a voter shrinks the quorum and stops replication to it")
    func removeVoter() throws {
        var cluster = Self.ledCluster()
        let removal = try cluster[1].proposeConfigurationChange(.remove(3)).get()
        cluster.stabilize()
        #expect(cluster[1].log.commitIndex >= removal.index)
        #expect(cluster[1].configuration == Raft.Configuration(voters: [1, 2]))
        #expect(cluster[1].peers.map(\.id) == [1, 2])

        let sentBefore = cluster.transcript.count
        cluster.commit([7])
        cluster.tick(times: 2)
        #expect(!cluster.transcript[sentBefore...].contains { $0.to == 3 })
        #expect(cluster.servers[2]!.state == [7])
    }

    @Test("Thesis §4.2.2: a leader that removes itself leads until the removal commits, then steps down and hands over")
    func removeLeader() throws {
        var cluster = Self.ledCluster()
        let removal = try cluster[1].proposeConfigurationChange(.remove(1)).get()
        cluster.process(1)
        #expect(cluster[1].role == .leader, "still leading while the removal is uncommitted")
        #expect(cluster[1].configuration == Raft.Configuration(voters: [2, 3]))

        cluster.stabilize()
        #expect(cluster[1].role == .follower)
        let successor = try #require(cluster.leader)
        #expect(successor == 2 || successor == 3)
        #expect(cluster[successor].term == 2)
        #expect(cluster[successor].log.commitIndex >= removal.index)
        #expect(cluster.transcript.contains { $0.from == 1 && $0.to == successor && $0.isTimeoutNow })

        // The removed node stays quiet; the new configuration keeps committing.
        cluster.tick(times: 3 * cluster.options.electionTimeout)
        #expect(cluster.leader == successor)
        #expect(cluster[1].role == .follower)
        cluster.commit([5])
        #expect(cluster.servers[2]!.state == [5] && cluster.servers[3]!.state == [5])
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test(
        "Thesis §4.2.2: 'a server that is not part of its own latest configuration should still start new elections'"
    )
    func removedLeaderStillCampaignsUntilRemovalCommits() throws {
        // Two voters; leader 1 removes itself, persists the entry, and crashes before anyone else receives it.
        var cluster = Cluster(voters: [1, 2])
        cluster.elect(1)
        cluster.commit([1])
        let removal = try cluster[1].proposeConfigurationChange(.remove(1)).get()
        cluster.process(1)
        cluster.drop()
        cluster.crash(1)
        cluster.restart(1)
        #expect(cluster[1].configuration == Raft.Configuration(voters: [2]))
        #expect(cluster[2].configuration == Raft.Configuration(voters: [1, 2]))

        // Node 2 needs node 1's vote (its configuration is still {1, 2}), and node 1 refuses it: node 1's log is
        // more up-to-date. Only node 1 can move on, by campaigning — counting node 2's vote, not its own — and
        // committing its removal, exactly as the thesis prescribes ("it might still be needed until the C_new
        // entry is committed").
        cluster.tick(times: 20 * cluster.options.electionTimeout)
        let leader = try #require(cluster.leader, "the cluster never elects a leader again")
        #expect(leader == 2)
        #expect(cluster[2].log.commitIndex >= removal.index)
        #expect(cluster[2].configuration == Raft.Configuration(voters: [2]))
    }

    @Test("Thesis §4.1: one change at a time — a second change waits for the first to commit")
    func oneChangeAtATime() throws {
        var cluster = Self.ledCluster()
        let first = try cluster[1].proposeConfigurationChange(.addLearner(4)).get()
        let second = cluster[1].proposeConfigurationChange(.addLearner(5))
        #expect(second.refusal == .configurationChangePending(index: first.index))
        cluster.addServer(4)
        cluster.stabilize()
        _ = try cluster[1].proposeConfigurationChange(.addLearner(5)).get()
    }

    @Test("Single-server change fix (raft-dev 2015): a new leader changes nothing before committing in its term")
    func leaderMustCommitInTermFirst() {
        var cluster = Cluster()
        cluster.elect(1, delivering: { $0.append == nil })
        #expect(cluster[1].proposeConfigurationChange(.addLearner(4)).refusal == .leaderNotCommittedInTerm)
        cluster.stabilize()
        #expect(cluster[1].proposeConfigurationChange(.addLearner(4)).refusal == nil)
    }

    @Test(
        "Invalid configuration changes are refused with a message an operator can act on",
        arguments: [
            (Raft.ConfigurationChange.addVoter(2), "node 2 is already a voter"),
            (.addLearner(3), "node 3 is already a member"),
            (.promote(2), "node 2 is not a learner"),
            (.remove(9), "node 9 is not a member"),
            (.addVoter(0), "node id 0 is reserved"),
            (.addLearner(0), "node id 0 is reserved"),
        ]
    )
    func invalidChanges(change: Raft.ConfigurationChange, reason: String) {
        var cluster = Self.ledCluster()
        let refusal = cluster[1].proposeConfigurationChange(change).refusal
        #expect(refusal == .invalidConfigurationChange(reason))
        #expect(refusal?.description == "invalid configuration change: \(reason)")
        #expect(cluster[1].configuration == Raft.Configuration(voters: [1, 2, 3]))
    }

    @Test("Removing the last voter is refused")
    func removeLastVoter() {
        var cluster = Cluster(voters: [1])
        cluster.elect(1)
        let refusal = cluster[1].proposeConfigurationChange(.remove(1)).refusal
        #expect(refusal == .invalidConfigurationChange("cannot remove the last voter 1"))
    }

    @Test("Followers refuse changes with .notLeader and the leader they know")
    func followersRefuseChanges() {
        var cluster = Self.ledCluster()
        #expect(cluster[2].proposeConfigurationChange(.addLearner(4)).refusal == .notLeader(leaderHint: 1))
    }

    @Test("Thesis §4.1: a configuration takes effect when appended; truncating its uncommitted entry reverts it")
    func truncatedConfigurationReverts() {
        let added = Raft.Configuration(voters: [1, 2, 3], learners: [4])
        let configurationEntry = Raft.Entry(index: 2, term: 1, payload: .configuration(added))
        var node = restoredNode(id: 3, term: 1, commit: 1, logTerms: [1])
        node.step(
            appendMessage(from: 1, to: 3, term: 1, previous: at(1, 1), entries: [configurationEntry], leaderCommit: 1)
        )
        #expect(node.configuration == added, "in force as soon as it is in the log")
        #expect(node.configurationIndex == 2)

        // A new leader of term 2 never had the entry and overwrites index 2.
        let replacement = Raft.Entry(index: 2, term: 2, payload: .empty)
        node.step(appendMessage(from: 2, to: 3, term: 2, previous: at(1, 1), entries: [replacement], leaderCommit: 1))
        #expect(node.logPositions == [at(1, 1), at(2, 2)])
        #expect(node.configuration == Raft.Configuration(voters: [1, 2, 3]))
        #expect(node.configurationIndex == 0)
    }

    @Test("A restarted node recovers its configuration from the configuration entries in its log")
    func restartRecoversConfiguration() throws {
        var cluster = try Self.clusterWithLearner4()
        cluster.restart(2)
        #expect(cluster[2].configuration == Raft.Configuration(voters: [1, 2, 3], learners: [4]))
        cluster.restart(4)
        #expect(cluster[4].configuration == Raft.Configuration(voters: [1, 2, 3], learners: [4]))
    }
}
