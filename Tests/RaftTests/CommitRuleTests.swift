import Testing

@testable import Raft

/// Safety: the commitment rule (§5.4.2) with the Figure 8 scenario, and leader completeness (§5.4.1).
@Suite("§5.4: safety")
struct CommitRuleTests {
    /// Plain Raft as in the paper (no pre-vote, no CheckQuorum), with appends of at most one byte of payload so a
    /// test can hand a follower an old entry without the new leader's entry that follows it.
    static func paperOptions(injecting bugs: Set<Raft.InjectedBug> = []) -> Raft.Options {
        var options = Raft.Options()
        options.preVote = false
        options.checkQuorum = false
        options.maxMessageBytes = 1
        options.injectedBugs = bugs
        return options
    }

    /// A two-byte command: with `maxMessageBytes = 1` it always travels alone.
    static let oldCommand: [UInt8] = [0xAA, 0xAA]

    @Test("§5.4.2: 'Raft never commits log entries from previous terms by counting replicas'")
    func oldTermEntryIsNotCommittedByCounting() throws {
        // Node 1 holds 2@2, which nobody else has; every node is in term 2.
        let old = Raft.Entry(index: 2, term: 2, payload: .command(Self.oldCommand))
        var logs = [Raft.PersistentState](
            repeating: Raft.PersistentState(
                hardState: Raft.HardState(term: 2, commit: 1),
                entries: entries(terms: [1])
            ),
            count: 3
        )
        logs[0].entries.append(old)
        var cluster = Cluster(options: Self.paperOptions(), persisted: [1: logs[0], 2: logs[1], 3: logs[2]])
        cluster.cut(1, 3)
        cluster.elect(1, delivering: { $0.append == nil })
        #expect(cluster[1].logPositions == [at(1, 1), at(2, 2), at(3, 3)])

        // Deliver everything except the append carrying the leader's own entry 3@3 once node 2 can accept it.
        var term3Appends = 0
        cluster.stabilize(delivering: { message in
            guard let append = message.append, append.entries.contains(where: { $0.term == 3 }) else { return true }
            term3Appends += 1
            return term3Appends == 1  // the first probe, which node 2 rejects: it lacks 2@2
        })
        #expect(cluster[2].logPositions == [at(1, 1), at(2, 2)])
        #expect(cluster[1].peers.first { $0.id == 2 }?.match == 2)
        // 2@2 is on nodes 1 and 2, a majority of three, and still not committed.
        #expect(cluster[1].log.commitIndex == 1)

        // Once 3@3 is on a majority, it commits, and 2@2 with it (indirectly, by the Log Matching Property).
        cluster.stabilize()
        #expect(cluster[1].log.commitIndex == 3)
        #expect(cluster.servers[2]!.applied.map(\.position).contains(at(2, 2)))
    }

    /// Runs Figure 8 (a)–(c) with five nodes and returns the cluster at the end of (c): node 1 leads term 4, and
    /// the entry 2@2 it created in term 2 is on nodes 1, 2 and 3, a majority (S3 also gets the command 3@2 unless
    /// S1 commits early and the test then holds back every append carrying a commit index: nobody but S1 may
    /// learn it, or (d) would truncate a committed entry and trap).
    static func figure8ThroughC(options: Raft.Options) throws -> Cluster {
        // Start: index 1 committed everywhere in term 1.
        let start = Raft.PersistentState(hardState: Raft.HardState(term: 1, commit: 1), entries: entries(terms: [1]))
        var cluster = Cluster(
            voters: [1, 2, 3, 4, 5],
            options: options,
            persisted: Dictionary(uniqueKeysWithValues: (1...5).map { (Raft.NodeID($0), start) })
        )

        // (a) S1 leads term 2 and replicates its entries (2@2, then the command 3@2) to S2 only.
        cluster.elect(1, delivering: { $0.append == nil })
        #expect(cluster[1].term == 2)
        _ = try cluster[1].propose(oldCommand).get()
        cluster.stabilize(delivering: { $0.to == 1 || $0.to == 2 })
        cluster.drop()
        #expect(cluster[1].logPositions == [at(1, 1), at(2, 2), at(3, 2)])
        #expect(cluster[2].logPositions == [at(1, 1), at(2, 2), at(3, 2)])
        #expect(cluster[1].log.commitIndex == 1)

        // (b) S1 crashes; S5 is elected for term 3 by S3, S4 and itself, and appends 2@3, which nobody receives.
        cluster.crash(1)
        cluster.elect(5, delivering: { $0.append == nil })
        cluster.drop()
        #expect(cluster[5].term == 3)
        #expect(cluster[5].logPositions == [at(1, 1), at(2, 3)])

        // (c) S5 crashes; S1 restarts and is elected for term 4 (appending 4@4); it sends 2@2 and 3@2 to S3 and
        // its whole log to S2. Nobody learns a commit index beyond 1 from S1.
        cluster.crash(5)
        cluster.restart(1)
        cluster.elect(1, delivering: { $0.append == nil })
        #expect(cluster[1].term == 4)
        var appendsTo: [Raft.NodeID: Int] = [:]
        cluster.stabilize(delivering: { message in
            guard let append = message.append else { return message.to == 1 }
            guard append.leaderCommit <= 1 else { return false }
            switch message.to {
            case 2:
                appendsTo[2, default: 0] += 1
                return appendsTo[2] == 1  // the first probe, which S2 accepts: 4@4
            case 3:
                guard append.entries.contains(where: { $0.term == 4 }) else { return true }
                appendsTo[3, default: 0] += 1
                return appendsTo[3] == 1  // the first probe, which S3 rejects: it lacks 3@2
            default:
                return false
            }
        })
        #expect(cluster[2].logPositions == [at(1, 1), at(2, 2), at(3, 2), at(4, 4)])
        #expect(cluster[3].logPositions.prefix(2) == [at(1, 1), at(2, 2)])
        #expect(cluster[3].log.lastTerm == 2)
        // 2@2 is on S1, S2 and S3, a majority, and S1 knows it.
        #expect(cluster[1].peers.filter { $0.match >= 2 }.map(\.id) == [1, 2, 3])
        return cluster
    }

    @Test(
        "Figure 8: an old-term entry on a majority is not committed, and a later leader may overwrite it (§5.4.2)"
    )
    func figure8() throws {
        var cluster = try Self.figure8ThroughC(options: Self.paperOptions())
        #expect(cluster[3].logPositions == [at(1, 1), at(2, 2), at(3, 2)])
        // 2@2 and 3@2 are on S1, S2 and S3, but S1 reports nothing committed beyond index 1.
        #expect(cluster[1].log.commitIndex == 1)
        #expect(cluster.servers[1]!.lastApplied == 1)

        // (d) S1 crashes; S5 restarts, is elected (by S3, S4 and itself: its last term 3 beats their 2) and
        // overwrites index 2 everywhere with its own 2@3.
        cluster.drop()
        cluster.crash(1)
        cluster.restart(5)
        cluster.elect(5)
        cluster.stabilize()
        #expect(cluster[5].term == 5)
        for id: Raft.NodeID in [2, 3, 4, 5] {
            #expect(cluster[id].logPositions == [at(1, 1), at(2, 3), at(3, 5)], "S\(id)")
            #expect(cluster.servers[id]!.lastApplied == 3, "S\(id)")
        }
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test(
        "Figure 8 with .commitEntriesOfEarlierTerms: the old entry commits, then is overwritten (proves the switch)"
    )
    func figure8WithInjectedBug() throws {
        var cluster = try Self.figure8ThroughC(options: Self.paperOptions(injecting: [.commitEntriesOfEarlierTerms]))
        // Counting replicas, S1 commits and applies 2@2 as soon as S3 stores it ...
        #expect(cluster[1].log.commitIndex == 2)
        #expect(cluster.servers[1]!.applied.map(\.position) == [at(1, 1), at(2, 2)])
        // ... which (d) then overwrites: the cluster applies two different entries at index 2.
        cluster.drop()
        cluster.crash(1)
        cluster.restart(5)
        cluster.elect(5)
        cluster.stabilize()
        #expect(cluster[3].logPositions == [at(1, 1), at(2, 3), at(3, 5)])
        #expect(!cluster.stateMachineViolations.isEmpty)
    }

    @Test("Figure 8 (e): once the leader's own entry is on a majority, the old entries commit and S5 cannot win")
    func figure8CaseE() throws {
        var cluster = try Self.figure8ThroughC(options: Self.paperOptions())
        // S1 replicates 4@4 to S3 as well: 4@4 commits, and 2@2 and 3@2 with it.
        cluster.stabilize()
        #expect(cluster[1].log.commitIndex == 4)
        cluster.crash(1)
        cluster.restart(5)
        cluster.tick([5], times: 10 * cluster.options.electionTimeout)
        #expect(cluster[5].role != .leader)
        #expect(!cluster.leadersByTerm.contains { term, leaders in term > 4 && leaders.contains(5) })
        // The survivors elect one of the nodes holding the committed entries, and nothing committed is lost.
        for _ in 0..<200 where cluster.leader == nil { cluster.tick([2, 3, 4, 5]) }
        cluster.tick(times: 3)
        #expect(cluster[5].logPositions.prefix(4) == [at(1, 1), at(2, 2), at(3, 2), at(4, 4)])
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("§5.4.1 Leader Completeness: a node missing a committed entry cannot win an election")
    func nodeMissingCommittedEntryCannotLead() throws {
        var options = Raft.Options()
        options.preVote = false
        options.checkQuorum = false
        var cluster = Cluster(options: options)
        cluster.elect(1)
        cluster.cut(1, 3)
        let position = cluster.commit([0x42])
        let committed = try #require(position)
        #expect(cluster[1].log.commitIndex == committed.index)
        #expect(cluster[3].log.lastIndex < committed.index)

        cluster.crash(1)
        cluster.tick([3], times: 10 * options.electionTimeout)
        #expect(cluster[3].term > 1, "node 3 did campaign")
        #expect(cluster[3].role != .leader)
        let refusals = cluster.transcript.filter { $0.from == 2 && $0.to == 3 && $0.voteResponse != nil }
        #expect(!refusals.isEmpty && refusals.allSatisfy { $0.voteResponse?.granted == false })

        // Node 2, which holds the entry, can win; node 3 then receives it.
        cluster.elect(2)
        cluster.stabilize()
        #expect(cluster[3].log.entry(at: committed.index)?.position == committed)
        #expect(cluster.servers[3]!.state == [0x42])
        #expect(cluster.safetyViolations.isEmpty)
    }
}
