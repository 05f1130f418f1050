import Testing

@testable import Raft

/// How the leader paces replication: probe and replicate states, the in-flight cap, message size, batching.
@Suite("Replication flow control")
struct FlowControlTests {
    /// The appends from node 1 to `follower` waiting on the network.
    static func pendingAppends(_ cluster: Cluster, to follower: Raft.NodeID) -> [Raft.Append] {
        cluster.pending.filter { $0.from == 1 && $0.to == follower }.compactMap(\.append)
    }

    /// The appends carrying entries from node 1 to `follower` waiting on the network. Empty appends that only carry
    /// a commit index are not counted against the in-flight cap (as in etcd): they hold no entries to acknowledge.
    static func pendingEntryAppends(_ cluster: Cluster, to follower: Raft.NodeID) -> [Raft.Append] {
        pendingAppends(cluster, to: follower).filter { !$0.entries.isEmpty }
    }

    @Test("Probe state: only one append is outstanding until the follower answers")
    func probeSendsOneAppend() {
        var cluster = Cluster()
        cluster.elect(1, delivering: { $0.to != 3 })
        #expect(cluster[1].peers.first { $0.id == 3 }?.state == .probe)
        for byte in UInt8(1)...5 {
            _ = cluster[1].propose([byte])
            cluster.stabilize(delivering: { $0.to != 3 })
        }
        #expect(cluster.transcript.filter { $0.from == 1 && $0.to == 3 && $0.append != nil }.count == 1)
        #expect(Self.pendingAppends(cluster, to: 3).count == 1)
        #expect(cluster[1].log.commitIndex == 6, "the majority of nodes 1 and 2 commits meanwhile")

        cluster.stabilize()
        #expect(cluster[1].peers.first { $0.id == 3 }?.state == .replicate)
        #expect(cluster[3].logPositions == cluster[1].logPositions)
    }

    @Test("Replicate state: no more than maxInflightMessages appends are in flight to one follower")
    func inflightCap() {
        var options = Raft.Options()
        options.maxInflightMessages = 3
        var cluster = Cluster(options: options)
        cluster.elect(1)
        #expect(cluster[1].peers.first { $0.id == 3 }?.state == .replicate)
        for byte in UInt8(1)...10 {
            _ = cluster[1].propose([byte])
            cluster.stabilize(delivering: { $0.to != 3 })
            #expect(Self.pendingEntryAppends(cluster, to: 3).count <= 3)
        }
        #expect(Self.pendingEntryAppends(cluster, to: 3).count == 3)
        #expect(Self.pendingEntryAppends(cluster, to: 3).flatMap(\.entries).map(\.index) == [2, 3, 4])
        #expect(Self.pendingAppends(cluster, to: 2).isEmpty)

        // Acknowledgements open the window again until the follower has everything.
        cluster.stabilize()
        #expect(cluster[3].logPositions == cluster[1].logPositions)
        #expect(cluster.servers[3]!.state == Array(1...10))
    }

    @Test(
        "Replicate state: a follower whose whole in-flight window was lost catches up once it is reachable again",
        arguments: [2, Raft.Options().maxInflightMessages]
    )
    func lostInflightWindowRecovers(maxInflight: Int) {
        var options = Raft.Options()
        options.maxInflightMessages = maxInflight
        var cluster = Cluster(options: options)
        cluster.elect(1)
        cluster.isolate(3)
        // One committed proposal per Ready: each sends node 3 one append, which the partition loses.
        let commands = (0..<(maxInflight + 3)).map { [UInt8(truncatingIfNeeded: $0)] }
        for command in commands { cluster.commit(command) }
        cluster.heal()
        cluster.tick(times: 5 * options.electionTimeout)
        #expect(cluster.leader == 1)
        #expect(cluster[3].log.lastIndex == cluster[1].log.lastIndex)
        #expect(cluster.servers[3]!.lastApplied == cluster[1].log.commitIndex)
        #expect(cluster.servers[3]!.state.elementsEqual(commands.joined()))
    }

    @Test("maxMessageBytes bounds an append's payload, but an append always carries at least one entry")
    func messageSizeLimit() {
        var options = Raft.Options()
        options.maxMessageBytes = 10
        var cluster = Cluster(options: options)
        cluster.elect(1)
        let small = [UInt8](repeating: 1, count: 4)
        let large = [UInt8](repeating: 2, count: 50)
        _ = cluster[1].proposeBatch([small, small, small, small, small, large, small])
        cluster.process(1)
        let appends = Self.pendingAppends(cluster, to: 2)
        let sizes = appends.map { $0.entries.map(\.payload.byteCount) }
        #expect(sizes == [[4, 4], [4, 4], [4], [50], [4]])
        for append in appends {
            let bytes = append.entries.reduce(0) { $0 + $1.payload.byteCount }
            #expect(bytes <= options.maxMessageBytes || append.entries.count == 1)
        }
        cluster.stabilize()
        #expect(cluster[2].logPositions == cluster[1].logPositions)
    }

    @Test("Batching: proposals made between two ready() calls go out as one append per follower")
    func proposalsAreBatched() throws {
        var cluster = Cluster()
        cluster.elect(1)
        for byte in UInt8(1)...5 { _ = cluster[1].propose([byte]) }
        _ = cluster[1].proposeBatch([[6], [7]])
        let ready = cluster[1].handleReady()
        #expect(ready.entries.count == 7)
        let appends = ready.messages.filter { $0.append != nil }
        #expect(appends.map(\.to) == [2, 3])
        for message in appends {
            let append = try #require(message.append)
            #expect(append.entries.map(\.payload) == (1...7).map { Raft.Payload.command([UInt8($0)]) })
            #expect(message.mayBeSentBeforePersisting)
        }
    }

    @Test("Thesis §10.2.1: the leader counts its own entries toward commit only once advance() says they are durable")
    func leaderCountsOwnEntriesOnlyWhenDurable() throws {
        var cluster = Cluster(voters: [1, 2, 3, 4, 5])
        cluster.elect(1)
        let position = try cluster[1].propose([1]).get()
        // The leader sends before persisting; two followers acknowledge: with the leader's own copy, three of five.
        let ready = cluster[1].ready()
        cluster.send(ready.messages)
        cluster.deliver { $0.to == 2 || $0.to == 3 }
        cluster.process(2)
        cluster.process(3)
        cluster.deliver { $0.to == 1 }
        #expect(cluster[1].log.commitIndex < position.index)
        // The shell reports the write durable: now it commits.
        cluster.servers[1]!.disk.write(ready, node: 1)
        cluster[1].advance()
        #expect(cluster[1].log.commitIndex == position.index)
    }

    @Test(
        "Servers: 'If commitIndex > lastApplied: apply' — in order, maxCommittedBytesPerReady (≥ 1 entry) per Ready"
    )
    func committedEntriesAreHandedInBoundedBatches() {
        var options = Raft.Options()
        options.maxCommittedBytesPerReady = 5
        let payloads: [[UInt8]] = [[1, 1, 1, 1], [2, 2, 2, 2], [3], [4], [5, 5, 5, 5, 5, 5, 5, 5]]
        let log = payloads.enumerated().map { offset, bytes in
            Raft.Entry(index: UInt64(offset + 1), term: 1, payload: .command(bytes))
        }
        var node = Raft.Node(
            id: 1,
            options: options,
            bootstrap: Raft.Configuration(voters: [1, 2, 3]),
            restoring: Raft.PersistentState(hardState: Raft.HardState(term: 1, commit: 5), entries: log),
            seed: 1
        )
        var batches: [[UInt64]] = []
        for _ in 0..<10 {
            let ready = node.handleReady()
            if ready.committedEntries.isEmpty { break }
            batches.append(ready.committedEntries.map(\.index))
        }
        #expect(batches == [[1], [2, 3], [4], [5]])
        #expect(node.appliedIndex == 5)
    }
}
