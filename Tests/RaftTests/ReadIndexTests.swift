import Testing

@testable import Raft

/// Linearizable reads without log writes: ReadIndex (thesis §6.4).
@Suite("Thesis §6.4: ReadIndex")
struct ReadIndexTests {
    @Test("Thesis §6.4: the leader grants a read only after a heartbeat round acknowledged by a majority")
    func readNeedsMajorityHeartbeatRound() throws {
        var cluster = Cluster(voters: [1, 2, 3, 4, 5])
        cluster.elect(1)
        let commit = cluster[1].log.commitIndex
        try cluster[1].requestRead(context: 7).get()
        cluster.process(1)
        let round = try #require(cluster.pending.first?.heartbeat?.readRound)
        #expect(cluster.pending.filter { $0.heartbeat?.readRound == round }.map(\.to) == [2, 3, 4, 5])

        // One follower: with the leader, two of five.
        cluster.deliver { $0.to == 2 }
        cluster.process(2)
        cluster.deliver { $0.to == 1 }
        cluster.process(1)
        #expect(cluster.servers[1]!.readStates.isEmpty)

        // A second follower: three of five.
        cluster.deliver { $0.to == 3 }
        cluster.process(3)
        cluster.deliver { $0.to == 1 }
        cluster.process(1)
        #expect(cluster.servers[1]!.readStates == [Raft.ReadState(context: 7, index: commit)])
    }

    /// Node 1 commits a command at index 2 but only it knows; node 2, which holds the command with commit index 1,
    /// then leads term 2 without having replicated its empty entry yet.
    static func newLeaderWithStaleCommit(options: Raft.Options) throws -> Cluster {
        var cluster = Cluster(options: options)
        cluster.elect(1)
        _ = try cluster[1].propose([0x58]).get()
        cluster.stabilize(delivering: { ($0.append?.leaderCommit ?? 0) < 2 })
        cluster.drop()
        #expect(cluster[1].log.commitIndex == 2)
        #expect(cluster[2].log.commitIndex == 1 && cluster[2].log.lastIndex == 2)
        cluster.crash(1)
        cluster.elect(2, delivering: { $0.append == nil })
        #expect(cluster[2].log.commitIndex == 1)
        return cluster
    }

    /// Options without CheckQuorum, so node 3 does not hold on to the crashed leader when node 2 asks for votes.
    static let withoutStickiness: Raft.Options = {
        var options = Raft.Options()
        options.checkQuorum = false
        return options
    }()

    @Test("Thesis §6.4: a new leader grants no read until it has committed an entry of its term")
    func newLeaderWaitsForCommitInTerm() throws {
        var cluster = try Self.newLeaderWithStaleCommit(options: Self.withoutStickiness)
        try cluster[2].requestRead(context: 5).get()
        cluster.tick([2], times: 3, delivering: { $0.append == nil })
        #expect(cluster.servers[2]!.readStates.isEmpty)

        cluster.stabilize()
        let read = try #require(cluster.servers[2]!.readStates.first)
        #expect(read.context == 5)
        // The read index covers the command node 1 acknowledged as committed.
        #expect(read.index == 3)
        #expect(read.index == cluster[2].log.commitIndex)
    }

    @Test("Injected .serveReadsWithoutLeadershipCheck grants at once, even a stale index (proves the switch)")
    func injectedReadBugGrantsAtOnce() throws {
        var options = Self.withoutStickiness
        options.injectedBugs = [.serveReadsWithoutLeadershipCheck]
        var cluster = try Self.newLeaderWithStaleCommit(options: options)
        try cluster[2].requestRead(context: 5).get()
        cluster.process(2)
        // Index 1 misses the committed command at index 2: a client would read a state older than its own write.
        #expect(cluster.servers[2]!.readStates == [Raft.ReadState(context: 5, index: 1)])
    }

    @Test("Thesis §6.4: a deposed leader cut off from the cluster never grants a read", arguments: [false, true])
    func isolatedOldLeader(injectingBug: Bool) throws {
        var options = Raft.Options()
        if injectingBug { options.injectedBugs = [.serveReadsWithoutLeadershipCheck] }
        var cluster = Cluster(options: options)
        cluster.elect(1)
        cluster.isolate(1)
        for _ in 0..<100 where cluster.leader == 1 { cluster.tick([2, 3]) }
        let newLeader = try #require(cluster.leader)
        let written = cluster.commit([0x57])
        let write = try #require(written)
        #expect(cluster[1].role == .leader, "node 1's clock stands still: it still believes it leads term 1")

        try cluster[1].requestRead(context: 1).get()
        cluster.process(1)
        if injectingBug {
            let read = try #require(cluster.servers[1]!.readStates.first)
            #expect(read.index < write.index, "a stale read: \(newLeader) committed \(write) already")
        } else {
            #expect(cluster.servers[1]!.readStates.isEmpty)
            cluster.tick([1], times: 2 * options.electionTimeout)
            #expect(cluster[1].role == .follower)
            #expect(cluster.servers[1]!.readStates.isEmpty)
            #expect(cluster.servers[1]!.droppedReads == [1])
        }
    }

    @Test("Thesis §6.4: a follower's read is forwarded to the leader and granted with the leader's commit index")
    func followerReadIsForwarded() throws {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.commit([1])
        try cluster[2].requestRead(context: 9).get()
        cluster.process(2)
        let forwarded = try #require(cluster.pending.first)
        #expect(forwarded.to == 1 && forwarded.kind == .readIndex(context: 9))
        cluster.stabilize()
        #expect(cluster.servers[2]!.readStates == [Raft.ReadState(context: 9, index: cluster[1].log.commitIndex)])
        #expect(cluster.servers[1]!.readStates.isEmpty)
    }

    @Test("A leader that loses leadership reports its pending reads in droppedReads", arguments: [false, true])
    func lostLeadershipDropsReads(awaitingCommit: Bool) throws {
        var cluster = Cluster()
        if awaitingCommit {
            cluster.elect(1, delivering: { $0.append == nil })
        } else {
            cluster.elect(1)
        }
        try cluster[1].requestRead(context: 3).get()
        try cluster[1].requestRead(context: 4).get()
        cluster.process(1)
        cluster.drop()
        cluster[1].step(
            Raft.Message(from: 2, to: 1, term: 9, kind: .heartbeat(Raft.Heartbeat(commit: 0, readRound: 0)))
        )
        cluster.process(1)
        #expect(cluster.servers[1]!.droppedReads == [3, 4])
        #expect(cluster.servers[1]!.readStates.isEmpty)
    }

    @Test("requestRead on a node that knows no leader is refused with .notLeader(leaderHint: nil)")
    func readWithoutLeaderIsRefused() {
        var node = restoredNode()
        #expect(node.requestRead(context: 1).refusal == .notLeader(leaderHint: nil))
        while node.role != .preCandidate { node.tick() }
        #expect(node.requestRead(context: 2).refusal == .notLeader(leaderHint: nil))
        #expect(node.handleReady().messages.allSatisfy { $0.voteRequest != nil })
    }

    @Test("A lone voter is its own majority: it grants reads without a heartbeat round")
    func loneVoterGrantsAtOnce() throws {
        var cluster = Cluster(voters: [1])
        cluster.elect(1)
        try cluster[1].requestRead(context: 1).get()
        cluster.process(1)
        #expect(cluster.servers[1]!.readStates == [Raft.ReadState(context: 1, index: 1)])
    }
}
