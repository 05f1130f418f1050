import Testing

@testable import Raft

/// Log compaction and InstallSnapshot (§7).
@Suite("§7: log compaction and snapshots")
struct SnapshotTests {
    /// A cluster led by node 1 that committed `commands` one-byte commands while node 3 was cut off, after which
    /// node 1 compacted its whole log into a snapshot.
    static func compactedWhileNode3WasAway(commands: UInt8 = 10) -> Cluster {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.isolate(3)
        for byte in 1...commands { cluster.commit([byte]) }
        cluster.compact(1)
        return cluster
    }

    @Test("§7: compaction replaces the leader's committed prefix with a snapshot of the state machine")
    func compactLeaderLog() throws {
        let cluster = Self.compactedWhileNode3WasAway()
        let leader = cluster[1]
        let snapshot = try #require(leader.snapshot)
        #expect(snapshot.metadata.last == at(11, 1))
        #expect(snapshot.metadata.configuration == Raft.Configuration(voters: [1, 2, 3]))
        #expect(snapshot.data == Array(1...10))
        #expect(leader.log.snapshot == at(11, 1))
        #expect(leader.log.entries.isEmpty)
        #expect(leader.log.term(at: 11) == 1)
        #expect(leader.log.entry(at: 5) == nil)
        #expect(cluster.servers[1]!.disk.snapshot == snapshot)
        #expect(cluster.servers[1]!.disk.entries.isEmpty)
    }

    @Test("§7: a lagging follower is sent the snapshot, installs it, then receives the following entries")
    func laggingFollowerInstallsSnapshot() throws {
        var cluster = Self.compactedWhileNode3WasAway()
        cluster.heal()
        cluster.tick(times: 3)
        #expect(cluster.transcript.contains { $0.from == 1 && $0.to == 3 && $0.snapshot != nil })
        let installed = try #require(cluster.servers[3]!.installedSnapshots.first)
        #expect(installed.last == at(11, 1))
        #expect(cluster[3].log.snapshot == at(11, 1))
        #expect(cluster[3].log.commitIndex == 11)
        #expect(cluster.servers[3]!.state == Array(1...10))
        #expect(cluster.servers[3]!.disk.snapshot?.metadata == installed)
        #expect(cluster[1].peers.first { $0.id == 3 }?.state == .replicate)

        cluster.commit([11])
        #expect(cluster[3].logPositions == [at(12, 1)])
        #expect(cluster.servers[3]!.state == Array(1...11))
        #expect(cluster.servers[3]!.applied.map(\.index) == [12])
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("§7: a node that joins after compaction learns its configuration from the snapshot's metadata")
    func joiningNodeLearnsConfigurationFromSnapshot() throws {
        var cluster = Cluster()
        cluster.elect(1)
        cluster.commit([1])
        _ = try cluster[1].proposeConfigurationChange(.addLearner(4)).get()
        cluster.stabilize()
        cluster.commit([2])
        cluster.compact(1)
        #expect(cluster[1].snapshot?.metadata.configuration == Raft.Configuration(voters: [1, 2, 3], learners: [4]))

        cluster.addServer(4)
        #expect(cluster[4].configuration == .empty)
        cluster.tick(times: 3)
        let installed = try #require(cluster.servers[4]!.installedSnapshots.first)
        #expect(installed == cluster[1].snapshot?.metadata)
        #expect(cluster[4].configuration == Raft.Configuration(voters: [1, 2, 3], learners: [4]))
        #expect(cluster.servers[4]!.state == [1, 2])
    }

    @Test("§7: a snapshot at or below the follower's commit index is ignored")
    func staleSnapshotIsIgnored() {
        var node = restoredNode(term: 1, commit: 5, logTerms: [1, 1, 1, 1, 1])
        let old = Raft.Snapshot(
            metadata: Raft.SnapshotMetadata(last: at(3, 1), configuration: Raft.Configuration(voters: [1, 2, 3])),
            data: [0xFF]
        )
        node.step(Raft.Message(from: 2, to: 1, term: 1, kind: .snapshot(old)))
        #expect(node.log.snapshot == at(0, 0))
        #expect(node.log.lastIndex == 5)
        let ready = node.handleReady()
        #expect(ready.snapshot == nil)
        #expect(ready.messages.map(\.appendResponse) == [Raft.AppendResponse(success: true, index: 5)])
    }

    @Test("§7: 'If existing log entry has same index and term as snapshot's last included entry, retain log entries'")
    func snapshotCoveringHeldEntriesKeepsTheRest() {
        var node = restoredNode(term: 1, commit: 2, logTerms: [1, 1, 1, 1, 1])
        let snapshot = Raft.Snapshot(
            metadata: Raft.SnapshotMetadata(last: at(3, 1), configuration: Raft.Configuration(voters: [1, 2, 3])),
            data: [1, 2, 3]
        )
        node.step(Raft.Message(from: 2, to: 1, term: 1, kind: .snapshot(snapshot)))
        #expect(node.log.lastIndex == 5)
        #expect(node.log.commitIndex == 3)
        let ready = node.handleReady()
        #expect(ready.snapshot == nil)
        #expect(ready.committedEntries.map(\.index) == [3])
    }

    @Test("§7: a follower whose log conflicts with the snapshot discards its whole log")
    func conflictingLogIsDiscarded() {
        var node = restoredNode(term: 2, commit: 1, logTerms: [1, 2, 2, 2])
        let snapshot = Raft.Snapshot(
            metadata: Raft.SnapshotMetadata(last: at(3, 3), configuration: Raft.Configuration(voters: [1, 2, 3])),
            data: [7]
        )
        node.step(Raft.Message(from: 2, to: 1, term: 3, kind: .snapshot(snapshot)))
        #expect(node.log.snapshot == at(3, 3))
        #expect(node.log.entries.isEmpty)
        let ready = node.handleReady()
        #expect(ready.snapshot == snapshot)
        #expect(ready.hardState?.commit == 3)
        #expect(ready.committedEntries.isEmpty, "the snapshot replaces entries 2 and 3; nothing is applied twice")
        #expect(ready.messages.map(\.appendResponse) == [Raft.AppendResponse(success: true, index: 3)])
    }

    @Test("§7: a lost snapshot message is sent again")
    func lostSnapshotIsResent() {
        var cluster = Self.compactedWhileNode3WasAway()
        cluster.heal()
        cluster.tick(times: 3, delivering: { $0.snapshot == nil })
        cluster.drop { $0.snapshot != nil }
        #expect(cluster.servers[3]!.installedSnapshots.isEmpty)
        cluster.tick(times: 4 * cluster.options.electionTimeout)
        #expect(cluster.servers[3]!.installedSnapshots.count == 1)
        #expect(cluster.servers[3]!.state == Array(1...10))
    }

    @Test(
        "§7: a restarted node restores from its snapshot plus the entries after it",
        arguments: [1, 3] as [Raft.NodeID]
    )
    func restartFromSnapshot(id: Raft.NodeID) {
        var cluster = Self.compactedWhileNode3WasAway(commands: 5)
        cluster.heal()
        cluster.tick(times: 3)
        for byte in UInt8(6)...8 { cluster.commit([byte]) }
        let before = cluster[id]
        cluster.crash(id)
        cluster.restart(id)
        #expect(cluster[id].log.snapshot == before.log.snapshot)
        #expect(cluster[id].logPositions == before.logPositions)
        #expect(cluster[id].term == before.term)
        #expect(cluster.servers[id]!.state == Array(1...5), "restored from the snapshot alone")
        cluster.process(id)
        #expect(cluster.servers[id]!.state == Array(1...8), "then the committed entries after it")
        cluster.tick(times: 3 * cluster.options.electionTimeout)
        cluster.commit([9])
        #expect(cluster.servers[id]!.state == Array(1...9))
        #expect(cluster.safetyViolations.isEmpty)
    }
}
