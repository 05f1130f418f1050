import Raft

/// The safety properties of Raft (Figure 3 of the paper), checked incrementally as the simulation runs so that a
/// violation is reported at the step that causes it.
struct Invariants {
    /// Election Safety: at most one leader per term.
    private var leaderOfTerm: [UInt64: Raft.NodeID] = [:]
    /// Log Matching: for every stored entry position, the payload digest and the term of the entry before it. Two
    /// logs holding an entry at the same position must agree on both; by induction on the index that makes their
    /// prefixes identical.
    private var storedEntries: [Raft.LogPosition: (digest: UInt64, previousTerm: UInt64)] = [:]
    /// State Machine Safety: the term and digest of the entry applied at each index (dense from index 1).
    private(set) var appliedTerms: [UInt64] = []
    private var appliedDigests: [UInt64] = []

    /// Terms that had a leader.
    var leaderCount: Int { leaderOfTerm.count }

    /// Records that `node` leads `term`, and checks Election Safety and Leader Completeness (every entry applied
    /// anywhere is in the new leader's log, unless compacted into its snapshot).
    /// Returns whether this is the first sighting of this leader.
    @discardableResult
    mutating func observeLeader(_ node: Raft.NodeID, term: UInt64, log: Raft.Log) throws(Violation) -> Bool {
        if let existing = leaderOfTerm[term] {
            guard existing == node else {
                throw Violation(message: "election safety: nodes \(existing) and \(node) both lead term \(term)")
            }
            return false
        }
        leaderOfTerm[term] = node
        let appliedCount = UInt64(appliedTerms.count)
        guard appliedCount <= log.lastIndex else {
            throw Violation(
                message: "leader completeness: node \(node) leads term \(term) with last index \(log.lastIndex) "
                    + "but index \(appliedCount) was applied"
            )
        }
        var index = log.snapshot.index + 1
        while index <= appliedCount {
            let expected = appliedTerms[Int(index - 1)]
            let held = log.term(at: index)
            guard held == expected else {
                throw Violation(
                    message: "leader completeness: node \(node) leads term \(term) but holds term \(held ?? 0) "
                        + "at index \(index), where an entry of term \(expected) was applied"
                )
            }
            index += 1
        }
        return true
    }

    /// Records entries `node` is about to persist; `previousTerm` is the term of the entry before the first.
    mutating func observeStored(_ node: Raft.NodeID, entries: [Raft.Entry], previousTerm: UInt64) throws(Violation) {
        var before = previousTerm
        for entry in entries {
            let record = (digest: payloadDigest(entry.payload), previousTerm: before)
            if let existing = storedEntries[entry.position] {
                guard existing.digest == record.digest, existing.previousTerm == record.previousTerm else {
                    throw Violation(
                        message: "log matching: node \(node) stores \(entry.position) with digest \(record.digest) "
                            + "after term \(before); another log has it with digest \(existing.digest) after term "
                            + "\(existing.previousTerm)"
                    )
                }
            } else {
                storedEntries[entry.position] = record
            }
            before = entry.term
        }
    }

    /// Records that `node` applied `entry`; checks State Machine Safety.
    mutating func observeApplied(_ node: Raft.NodeID, entry: Raft.Entry) throws(Violation) {
        let digest = payloadDigest(entry.payload)
        let slot = Int(entry.index) - 1
        if slot < appliedTerms.count {
            guard appliedTerms[slot] == entry.term, appliedDigests[slot] == digest else {
                throw Violation(
                    message: "state machine safety: node \(node) applied \(entry.position) but index \(entry.index) "
                        + "was applied elsewhere with term \(appliedTerms[slot])"
                )
            }
        } else if slot == appliedTerms.count {
            appliedTerms.append(entry.term)
            appliedDigests.append(digest)
        } else {
            throw Violation(
                message: "state machine safety: node \(node) applied index \(entry.index) before anyone applied "
                    + "index \(appliedTerms.count + 1)"
            )
        }
    }
}
