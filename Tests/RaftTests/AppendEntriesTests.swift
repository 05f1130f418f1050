import Testing

@testable import Raft

/// The AppendEntries receiver rules (Figure 2, §5.3) and the leader's fast back-off.
@Suite("Figure 2 / §5.3: AppendEntries")
struct AppendEntriesTests {
    @Test(
        "AppendEntries: 'Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm'",
        arguments: [at(3, 1), at(2, 2), at(9, 1)]
    )
    func consistencyCheckRejects(previous: Raft.LogPosition) throws {
        var node = restoredNode(term: 2, logTerms: [1, 1])
        node.step(
            appendMessage(
                from: 2,
                to: 1,
                term: 2,
                previous: previous,
                entries: entries(terms: [2], from: previous.index + 1)
            )
        )
        #expect(node.logPositions == [at(1, 1), at(2, 1)])
        let ready = node.handleReady()
        #expect(ready.entries.isEmpty)
        let response = try #require(ready.messages.first?.appendResponse)
        #expect(!response.success)
        #expect(response.index == previous.index)
        #expect(ready.messages.first?.mayBeSentBeforePersisting == false)
    }

    @Test(
        "AppendEntries: 'If an existing entry conflicts with a new one, delete the existing entry and all that follow'"
    )
    func conflictingEntriesAreReplaced() {
        var node = restoredNode(term: 1, commit: 1, logTerms: [1, 1, 1, 1])
        var disk = Disk(
            Raft.PersistentState(hardState: Raft.HardState(term: 1, commit: 1), entries: entries(terms: [1, 1, 1, 1]))
        )
        let newEntries = [entries(terms: [1], from: 2)[0], Raft.Entry(index: 3, term: 2, payload: .command([0xAB]))]
        node.step(appendMessage(from: 2, to: 1, term: 2, previous: at(1, 1), entries: newEntries))
        #expect(node.logPositions == [at(1, 1), at(2, 1), at(3, 2)])
        let ready = node.handleReady()
        // Entries already present are not handed out again; the Ready overwrites from the first conflicting index.
        #expect(ready.entries == [newEntries[1]])
        disk.write(ready, node: 1)
        #expect(disk.entries.map(\.position) == [at(1, 1), at(2, 1), at(3, 2)])
        #expect(ready.messages.first?.appendResponse == Raft.AppendResponse(success: true, index: 3))
    }

    @Test("AppendEntries: a stale, shorter append of entries already present does not truncate the log")
    func staleShorterAppendDoesNotTruncate() {
        var node = restoredNode(term: 1, logTerms: [1, 1, 1])
        node.step(appendMessage(from: 2, to: 1, term: 1, previous: at(0, 0), entries: entries(terms: [1])))
        #expect(node.logPositions == [at(1, 1), at(2, 1), at(3, 1)])
        let ready = node.handleReady()
        #expect(ready.entries.isEmpty)
        #expect(ready.messages.first?.appendResponse == Raft.AppendResponse(success: true, index: 1))
    }

    @Test(
        "AppendEntries: 'If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)'"
    )
    func leaderCommitAdvancesFollowerCommit() {
        var node = restoredNode(term: 1)
        node.step(
            appendMessage(
                from: 2,
                to: 1,
                term: 1,
                previous: at(0, 0),
                entries: entries(terms: [1, 1]),
                leaderCommit: 5
            )
        )
        #expect(node.log.commitIndex == 2)
        var ready = node.handleReady()
        #expect(ready.hardState?.commit == 2)
        #expect(ready.committedEntries.map(\.index) == [1, 2])

        node.step(
            appendMessage(
                from: 2,
                to: 1,
                term: 1,
                previous: at(2, 1),
                entries: entries(terms: [1], from: 3),
                leaderCommit: 3
            )
        )
        #expect(node.log.commitIndex == 3)
        ready = node.handleReady()
        #expect(ready.committedEntries.map(\.index) == [3])
    }

    @Test(
        "AppendEntries: the commit index never passes the last entry the append vouched for, even if the log is longer"
    )
    func commitStopsAtLastNewEntry() {
        // Entries 2 and 3 are from an old term and may be overwritten by this leader: they must not be committed.
        var node = restoredNode(term: 1, logTerms: [1, 1, 1])
        node.step(appendMessage(from: 2, to: 1, term: 2, previous: at(1, 1), leaderCommit: 3))
        #expect(node.log.commitIndex == 1)
        #expect(node.handleReady().committedEntries.map(\.index) == [1])
    }

    /// A three-node cluster where node 1 (term 4, log `1@1` then `leaderTail`) is about to lead, node 3 has the same
    /// log, and node 2 has `followerLog`.
    static func backOffCluster(leaderTail: [UInt64], followerLog: [UInt64]) -> Cluster {
        let leaderLog = Raft.PersistentState(
            hardState: Raft.HardState(term: 4, commit: 1),
            entries: entries(terms: [1] + leaderTail)
        )
        let followerState = Raft.PersistentState(
            hardState: Raft.HardState(term: 4, commit: 1),
            entries: entries(terms: followerLog)
        )
        return Cluster(persisted: [1: leaderLog, 2: followerState, 3: leaderLog])
    }

    @Test(
        "§5.3 fast back-off: a follower with a long divergent tail of one term costs one rejection, not one per entry",
        arguments: [
            // Follower: fifty entries of term 2 the leader never had; leader: ten entries of term 3 at those indexes.
            ([UInt64](repeating: 3, count: 10), [1] + [UInt64](repeating: 2, count: 50)),
            // Follower: missing the leader's fifty entries of term 3.
            ([UInt64](repeating: 3, count: 50), [1]),
        ]
    )
    func fastBackOff(leaderTail: [UInt64], followerLog: [UInt64]) {
        var cluster = Self.backOffCluster(leaderTail: leaderTail, followerLog: followerLog)
        cluster.elect(1)
        cluster.stabilize()
        let rejections = cluster.transcript.filter { $0.from == 2 && $0.appendResponse?.success == false }
        #expect(rejections.count == 1)
        #expect(cluster[2].logPositions == cluster[1].logPositions)
        #expect(cluster[1].log.commitIndex == cluster[1].log.lastIndex)
        #expect(cluster.safetyViolations.isEmpty)
    }

    @Test("§5.3: the follower's rejection hint names its last entry of a term no greater than the leader's")
    func rejectionHint() throws {
        var node = restoredNode(term: 4, logTerms: [1, 2, 2, 2, 2])
        node.step(appendMessage(from: 2, to: 1, term: 5, previous: at(4, 3), entries: entries(terms: [5], from: 5)))
        let response = try #require(node.handleReady().messages.first?.appendResponse)
        #expect(response == Raft.AppendResponse(success: false, index: 4, hintIndex: 4, hintTerm: 2))
    }

    @Test("§5.3: an append below the follower's commit index is answered with the commit index, not re-checked")
    func appendBelowCommit() {
        var node = restoredNode(term: 1, commit: 3, logTerms: [1, 1, 1])
        node.step(appendMessage(from: 2, to: 1, term: 1, previous: at(1, 1), entries: entries(terms: [1], from: 2)))
        #expect(node.logPositions == [at(1, 1), at(2, 1), at(3, 1)])
        #expect(node.handleReady().messages.first?.appendResponse == Raft.AppendResponse(success: true, index: 3))
    }

    @Test("Log Matching: after replication every follower holds exactly the leader's log")
    func logsConverge() {
        var cluster = Cluster(voters: [1, 2, 3, 4, 5])
        cluster.elect(1)
        for byte in UInt8(1)...20 { cluster.commit([byte]) }
        for id in cluster.ids {
            #expect(cluster[id].logPositions == cluster[1].logPositions)
            #expect(cluster.servers[id]!.state == Array(1...20))
        }
    }
}
