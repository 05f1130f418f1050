import Testing

@testable import Raft

/// Regression tests for findings of the core's code review.
@Suite("Review findings")
struct ReviewFindingsTests {
    @Test("Figure 2: a lone voter does not replicate entries of a term before that term and its vote are durable")
    func loneVoterWaitsForItsTermBeforeReplicating() {
        var cluster = Cluster(voters: [1], learners: [2])
        cluster.elect(1)
        cluster.commit([0x01])
        let oldTerm = cluster[1].term

        // Node 1 restarts, elects itself in oldTerm + 1 and takes a proposal, all before its shell writes anything.
        cluster.restart(1)
        var node = cluster[1]
        for _ in 0..<(4 * cluster.options.electionTimeout) where node.role != .leader { node.tick() }
        #expect(node.role == .leader && node.term == oldTerm + 1)
        _ = node.propose([0xAA])
        let ready = node.ready()
        #expect(ready.hardState?.term == oldTerm + 1)
        // The shell sends what the documented rule lets it send before the write, then crashes before the fsync.
        let early = ready.messages.filter(\.mayBeSentBeforePersisting)
        cluster[1] = node
        cluster.crash(1)
        cluster.send(early)
        cluster.stabilize()

        // Back from its (unchanged) disk: the same term again, with a different command at the same index.
        cluster.restart(1)
        cluster.elect(1)
        #expect(cluster[1].term == oldTerm + 1)
        cluster.commit([0xBB])
        cluster.tick(times: 3)

        #expect(
            early.allSatisfy { $0.append == nil },
            "appends of term \(oldTerm + 1) left before the term was durable"
        )
        #expect(cluster.safetyViolations.isEmpty, "\(cluster.safetyViolations)")
    }

    @Test("Flow control: ReadIndex rounds do not let appends past a full replication window")
    func readRoundsDoNotOpenTheWindow() {
        var options = Raft.Options()
        options.maxInflightMessages = 2
        options.maxMessageBytes = 1  // one entry per append
        var cluster = Cluster(options: options)
        cluster.elect(1)
        cluster.commit([0])
        // Node 3 is slow: its append acknowledgements stay on the network.
        let slow: (Raft.Message) -> Bool = { !($0.from == 3 && $0.appendResponse != nil) }
        for value in 1...30 { _ = cluster[1].propose([UInt8(value)]) }
        cluster.stabilize(delivering: slow)
        func appendsToSlowFollower() -> Int {
            cluster.transcript.filter { $0.to == 3 && !($0.append?.entries.isEmpty ?? true) }.count
        }
        let before = appendsToSlowFollower()
        for context in 1...20 {
            _ = cluster[1].requestRead(context: UInt64(context))
            cluster.stabilize(delivering: slow)
        }
        let extra = appendsToSlowFollower() - before
        #expect(cluster.servers[1]!.readStates.count == 20)
        #expect(extra == 0, "20 reads let \(extra) more appends out to a follower whose window of 2 was full")
    }
}
