extension Raft {
    /// How a leader replicates to one follower (after etcd's `tracker/progress.go`).
    package enum ReplicationState: String, Sendable, Equatable {
        /// The match index is unknown: one append at a time until one succeeds.
        case probe
        /// The follower is known to match: appends are pipelined optimistically, up to the in-flight cap.
        case replicate
        /// The follower needs a snapshot; appends pause until it has been installed.
        case snapshot
    }

    /// The leader's view of one member's replication.
    ///
    /// Invariant: `match < next`.
    /// Invariant: `inflight` is non-empty only in `.replicate`, ascending, every element `< next`.
    struct Progress: Sendable {
        /// Highest index known to be replicated on the member.
        var match: UInt64 = 0
        /// Index of the next entry to send.
        var next: UInt64
        /// Replication state.
        var state: ReplicationState = .probe
        /// In `.probe`: an append has been sent and not yet answered (or a heartbeat round has not unpaused it).
        var probeSent = false
        /// Last index of each append in flight, oldest first.
        var inflight = InflightWindow()
        /// In `.snapshot`: the index of the snapshot sent.
        var pendingSnapshot: UInt64 = 0
        /// CheckQuorum periods spent in `.snapshot` without an answer; after two the leader probes again, so a lost
        /// snapshot message never stalls the follower forever.
        var snapshotPeriods = 0
        /// Heard from the member in the current CheckQuorum period.
        var recentActive = false
        /// Set by a tick's heartbeat: its response may free one slot of a full window (once per heartbeat interval).
        var heartbeatMayFreeSlot = false
        /// Highest read round the member acknowledged in this term.
        var readRoundAcked: UInt64 = 0

        /// Creates progress for a member whose match is unknown.
        init(next: UInt64) {
            self.next = next
        }

        /// Whether the leader must hold back appends.
        func isPaused(maxInflight: Int) -> Bool {
            switch state {
            case .probe: return probeSent
            case .replicate: return inflight.count >= maxInflight
            case .snapshot: return true
            }
        }

        mutating func becomeProbe() {
            // After a snapshot, resume from the snapshot if the follower reached it.
            if state == .snapshot {
                next = max(match + 1, pendingSnapshot + 1)
            } else {
                next = match + 1
            }
            state = .probe
            probeSent = false
            inflight.reset()
            pendingSnapshot = 0
            snapshotPeriods = 0
        }

        mutating func becomeReplicate() {
            state = .replicate
            next = match + 1
            probeSent = false
            inflight.reset()
            pendingSnapshot = 0
        }

        mutating func becomeSnapshot(_ index: UInt64) {
            state = .snapshot
            pendingSnapshot = index
            probeSent = false
            inflight.reset()
            snapshotPeriods = 0
        }

        /// Records a successful append up to `index`; false when the response is stale.
        mutating func update(matched index: UInt64) -> Bool {
            var updated = false
            if index > match {
                match = index
                probeSent = false
                updated = true
            }
            next = max(next, index + 1)
            inflight.free(through: index)
            return updated
        }

        /// Moves `next` back after a rejection of `rejected`; `probeFrom` is where the leader's log says to probe
        /// next. False when the rejection is stale (answers an append this progress no longer cares about).
        mutating func decrease(rejected: UInt64, probeFrom: UInt64) -> Bool {
            if state == .replicate {
                // A rejection at or below the match is a stale, reordered answer.
                guard rejected > match else { return false }
                next = match + 1
                return true
            }
            // In probe only the answer to the outstanding probe (previous index next - 1) counts.
            guard next - 1 == rejected else { return false }
            next = max(min(rejected, probeFrom + 1), match + 1)
            probeSent = false
            return true
        }
    }

    /// What the leader knows of one member, for operators (`GET /v1/operator/raft`).
    package struct PeerStatus: Sendable, Equatable {
        /// The member.
        package var id: NodeID
        /// Whether it votes.
        package var isVoter: Bool
        /// Highest index known replicated on it.
        package var match: UInt64
        /// Next index the leader will send.
        package var next: UInt64
        /// Replication state.
        package var state: ReplicationState
        /// Heard from in the current CheckQuorum period.
        package var recentActive: Bool
    }
}

extension Raft {
    /// The last index of each append in flight to one follower, oldest first: a queue with a moving head, so freeing
    /// acknowledged appends costs no shifting on the hot path.
    ///
    /// Invariant: `storage[head...]` is ascending.
    struct InflightWindow: Sendable {
        private var storage: [UInt64] = []
        private var head = 0

        /// Appends in flight.
        var count: Int { storage.count - head }

        /// Records an append whose last entry is `index`.
        mutating func append(_ index: UInt64) {
            storage.append(index)
        }

        /// Frees every append whose last index is at or below `index`.
        mutating func free(through index: UInt64) {
            while head < storage.count && storage[head] <= index { head += 1 }
            compactIfWorthIt()
        }

        /// Frees the oldest append.
        mutating func freeFirst() {
            guard head < storage.count else { return }
            head += 1
            compactIfWorthIt()
        }

        /// Forgets everything.
        mutating func reset() {
            storage.removeAll(keepingCapacity: true)
            head = 0
        }

        private mutating func compactIfWorthIt() {
            if head == storage.count {
                reset()
            } else if head >= 64 && head * 2 >= storage.count {
                storage.removeFirst(head)
                head = 0
            }
        }
    }
}
