extension Raft {
    /// What a node restarts from: exactly what earlier `Ready`s asked the shell to persist.
    package struct PersistentState: Sendable {
        /// The latest hard state persisted.
        package var hardState: HardState
        /// The latest snapshot persisted, if any.
        package var snapshot: Snapshot?
        /// The persisted entries after the snapshot, in order.
        package var entries: [Entry]

        /// Creates a persistent state; the default is a brand-new node.
        package init(hardState: HardState = HardState(), snapshot: Snapshot? = nil, entries: [Entry] = []) {
            self.hardState = hardState
            self.snapshot = snapshot
            self.entries = entries
        }
    }

    /// One Raft node: a pure state machine. Drive it with `step(_:)`, `tick()`, `propose(_:)`, `requestRead(context:)`,
    /// `transferLeadership(to:)` and `proposeConfigurationChange(_:)`; collect effects with `ready()`; acknowledge
    /// them with `advance()`. See `Ready` for what the shell must do with each effect, and in which order.
    ///
    /// A node never reads a clock, touches a file or a socket, starts a thread, or uses global randomness.
    package struct Node: Sendable {
        /// This node's id.
        package let id: NodeID
        /// Tuning and switches.
        package let options: Options
        var random: SplitMix64

        /// Current term (Figure 2).
        package internal(set) var term: UInt64 = 0
        /// Candidate voted for in `term`.
        package internal(set) var vote: NodeID?
        /// The leader of `term`, when known.
        package internal(set) var leader: NodeID?
        /// The role in `term`.
        package internal(set) var role: Role = .follower
        /// The log.
        package internal(set) var log: Log

        /// The configuration in force: the latest one in the log, committed or not (thesis §4.1).
        package internal(set) var configuration: Configuration
        /// Index of the entry (or snapshot) `configuration` comes from.
        package internal(set) var configurationIndex: UInt64
        /// The founding configuration, in force before any snapshot or configuration entry.
        let bootstrap: Configuration

        var electionElapsed = 0
        var heartbeatElapsed = 0
        var randomizedElectionTimeout = 0
        /// Votes received in the current (pre-)election, by voter.
        var votes: [NodeID: Bool] = [:]

        /// The leader's per-member replication state, including its own entry. Empty unless leader.
        var progress: [NodeID: Progress] = [:]
        /// Why the node stopped, if it did: it detected that the cluster broke a safety property (a leader asked it
        /// to overwrite a committed entry). A halted node ignores every input; its shell must report the reason and
        /// exit rather than run on with a log that disagrees with what it applied.
        package internal(set) var haltReason: String?
        /// Target of a leadership transfer in progress.
        package internal(set) var transferTarget: NodeID?
        var transferElapsed = 0
        /// Set when appends or commit updates should go out at the next `ready()`; batching all proposals made
        /// between two `ready()` calls into one append per follower.
        var needsBroadcast = false

        /// Leader: reads waiting for a heartbeat round, in round order.
        var pendingReads: [PendingRead] = []
        /// Leader: reads that arrived before the leader committed an entry of its term.
        var readsAwaitingCommit: [(from: NodeID, context: UInt64)] = []
        /// Leader: the newest read round started.
        var readRound: UInt64 = 0
        /// Leader: reads wait for a round that `ready()` must start.
        var needsReadRound = false

        /// The latest snapshot, sent to followers that need compacted entries.
        package internal(set) var snapshot: Snapshot?

        // Effects accumulated for the next `Ready`.
        var outbox: [Message] = []
        var readStates: [ReadState] = []
        var droppedReads: [UInt64] = []
        var receivedSnapshot: Snapshot?

        // What has been handed to the shell and acknowledged.
        /// First index not yet handed to the shell for persisting.
        var unpersistedFrom: UInt64
        /// Highest index the shell has made durable (and that is still in the log).
        package internal(set) var persistedIndex: UInt64
        /// Highest index handed to the shell for applying.
        var appliedHandedOff: UInt64
        /// Highest index the shell has applied.
        package internal(set) var appliedIndex: UInt64
        var lastHardState: HardState
        var lastSoftState: SoftState
        var outstanding: Outstanding?

        struct PendingRead: Sendable {
            var round: UInt64
            var index: UInt64
            var from: NodeID
            var context: UInt64
        }

        struct Outstanding: Sendable {
            var lastEntry: LogPosition?
            var snapshotIndex: UInt64?
            var appliedThrough: UInt64
        }

        /// Creates a node from what it persisted (a new node passes an empty `PersistentState`).
        ///
        /// - Parameters:
        ///   - bootstrap: the configuration of a brand-new cluster, used only while neither a snapshot nor a
        ///     configuration entry says otherwise. Every founding member passes the same one; a node that will
        ///     join an existing cluster passes `.empty` and learns its configuration from the leader.
        ///   - appliedIndex: the highest index the shell's state machine already reflects (default: the
        ///     snapshot's).
        ///   - seed: seeds the election-timeout randomness.
        package init(
            id: NodeID,
            options: Options = Options(),
            bootstrap: Configuration,
            restoring persisted: PersistentState = PersistentState(),
            appliedIndex: UInt64? = nil,
            seed: UInt64
        ) {
            precondition(id != 0, "node id 0 is reserved")
            precondition(options.heartbeatInterval >= 1, "heartbeatInterval must be at least 1 tick")
            precondition(options.electionTimeout > options.heartbeatInterval, "electionTimeout must exceed heartbeat")
            precondition(options.maxInflightMessages >= 1, "maxInflightMessages must be at least 1")
            self.id = id
            self.options = options
            self.random = SplitMix64(seed: seed ^ (id &* 0x9E37_79B9_7F4A_7C15))
            let snapshotPosition = persisted.snapshot?.metadata.last ?? LogPosition(index: 0, term: 0)
            let hard = persisted.hardState
            log = Log(
                snapshot: snapshotPosition,
                entries: persisted.entries,
                commitIndex: max(hard.commit, snapshotPosition.index)
            )
            precondition(
                log.commitIndex <= log.lastIndex,
                "persisted commit \(hard.commit) is beyond the persisted log's last index \(log.lastIndex)"
            )
            snapshot = persisted.snapshot
            term = hard.term
            vote = hard.vote
            self.bootstrap = bootstrap
            configuration = persisted.snapshot?.metadata.configuration ?? bootstrap
            configurationIndex = snapshotPosition.index
            unpersistedFrom = log.lastIndex + 1
            persistedIndex = log.lastIndex
            let applied = appliedIndex ?? snapshotPosition.index
            precondition(applied <= log.commitIndex, "applied index \(applied) is beyond commit \(log.commitIndex)")
            precondition(
                applied >= snapshotPosition.index,
                "applied index \(applied) is below the snapshot at \(snapshotPosition.index)"
            )
            appliedHandedOff = applied
            self.appliedIndex = applied
            lastHardState = hard
            lastSoftState = SoftState(role: .follower, leader: nil)
            reloadConfigurationFromLog()
            resetElectionTimer()
        }

        // MARK: Queries

        /// The configuration in force before the first entry held in the log.
        var configurationBeforeLog: Configuration { snapshot?.metadata.configuration ?? bootstrap }

        /// Whether this node may campaign: it is a voter in its latest configuration, or it was a voter until an
        /// uncommitted configuration removed it. Thesis §4.2.2: such a server "should still start new elections"
        /// until the removal commits — otherwise a leader that removed itself and crashed could leave the remaining
        /// voters without a quorum. It does not count its own vote (votes are counted over the latest voters).
        package var isPromotable: Bool {
            if configuration.isVoter(id) { return true }
            guard configurationIndex > log.commitIndex else { return false }
            return configuration(at: configurationIndex - 1).isVoter(id)
        }

        /// The hard state as it stands (persisted or about to be).
        package var hardState: HardState { HardState(term: term, vote: vote, commit: log.commitIndex) }

        /// Replication state of every member, for operators. Empty unless leader.
        package var peers: [PeerStatus] {
            progress.keys.sorted().map { member in
                let entry = progress[member]!
                return PeerStatus(
                    id: member,
                    isVoter: configuration.isVoter(member),
                    match: entry.match,
                    next: entry.next,
                    state: entry.state,
                    recentActive: entry.recentActive
                )
            }
        }

        /// Whether the leader has committed an entry of its own term, which it needs before serving reads or
        /// changing the configuration.
        var hasCommittedInTerm: Bool { log.term(at: log.commitIndex) == term }

        // MARK: Ready / advance

        /// Collects every effect produced since the last call. The shell must call `advance()` after handling it and
        /// before the next `ready()`; in between it may keep stepping, ticking and proposing.
        package mutating func ready() -> Ready {
            precondition(outstanding == nil, "ready() called again before advance()")
            flushAppends()
            var ready = Ready()
            let hard = hardState
            var termOrVoteChanged = false
            if hard != lastHardState {
                ready.hardState = hard
                termOrVoteChanged = hard.term != lastHardState.term || hard.vote != lastHardState.vote
                lastHardState = hard
            }
            if let received = receivedSnapshot {
                ready.snapshot = received
                receivedSnapshot = nil
            }
            if unpersistedFrom <= log.lastIndex {
                ready.entries = log.slice(from: unpersistedFrom, through: log.lastIndex, maxBytes: .max) ?? []
                unpersistedFrom = log.lastIndex + 1
            }
            if appliedHandedOff < log.commitIndex {
                let from = appliedHandedOff + 1
                let committed =
                    log.slice(from: from, through: log.commitIndex, maxBytes: options.maxCommittedBytesPerReady) ?? []
                ready.committedEntries = committed
                appliedHandedOff = committed.last?.index ?? appliedHandedOff
            }
            ready.messages = outbox
            outbox = []
            if termOrVoteChanged {
                for position in ready.messages.indices { ready.messages[position].followsTermChange = true }
            }
            ready.readStates = readStates
            readStates = []
            ready.droppedReads = droppedReads
            droppedReads = []
            let soft = SoftState(role: role, leader: leader)
            if soft != lastSoftState {
                ready.softState = soft
                lastSoftState = soft
            }
            outstanding = Outstanding(
                lastEntry: ready.entries.last?.position,
                snapshotIndex: ready.snapshot?.metadata.last.index,
                appliedThrough: appliedHandedOff
            )
            return ready
        }

        /// Acknowledges the last `Ready`: its hard state, entries and snapshot are durable, and its committed
        /// entries are applied.
        package mutating func advance() {
            guard let done = outstanding else { preconditionFailure("advance() without an outstanding ready()") }
            outstanding = nil
            if let snapshotIndex = done.snapshotIndex, log.snapshot.index == snapshotIndex {
                persistedIndex = max(persistedIndex, snapshotIndex)
            }
            // Entries handed out may have been replaced while the shell wrote them; count them only if the last
            // one is still in the log (then, by Log Matching, all before it are too).
            if let last = done.lastEntry, log.contains(last) {
                persistedIndex = max(persistedIndex, last.index)
            }
            appliedIndex = max(appliedIndex, done.appliedThrough)
            if role == .leader, var own = progress[id] {
                if own.update(matched: persistedIndex) {
                    progress[id] = own
                    if maybeCommit() { needsBroadcast = true }
                }
            }
        }

        // MARK: Timers

        /// Advances logical time by one tick.
        package mutating func tick() {
            guard haltReason == nil else { return }
            if role == .leader {
                tickLeader()
            } else {
                electionElapsed += 1
                if isPromotable && electionElapsed >= randomizedElectionTimeout {
                    electionElapsed = 0
                    campaign(preVote: options.preVote, transfer: false)
                }
            }
        }

        /// The shell saw the leader's connection close (its process exited: the kernel closed its sockets). Rather
        /// than wait out the whole election timeout, the node stops defending that leader's lease (§4.2.3) and
        /// campaigns soon. The followers take turns so that they do not split the vote: the voters other than the
        /// lost leader, by id, each get a slot of a tenth of the election timeout (plus up to half a slot of random
        /// delay), so on a network whose round trip is well under a slot the first live follower with an
        /// up-to-date log wins, and the next one tries only if it did not. A wrong suspicion is harmless:
        /// elections are always safe, and with pre-vote the other nodes, still hearing from a live leader, refuse
        /// the pre-vote, so the leader's term is not disturbed; its next heartbeat ends the episode.
        package mutating func leaderConnectionLost(_ peer: NodeID) {
            guard haltReason == nil, role == .follower, leader == peer, isPromotable else { return }
            let slot = max(1, options.electionTimeout / 10)
            let rank = configuration.voters.filter { $0 != peer }.sorted().firstIndex(of: id) ?? 0
            let delay = rank * slot + Int(random.next() % UInt64(max(1, slot / 2)))
            electionElapsed = max(electionElapsed, options.electionTimeout)
            randomizedElectionTimeout = min(randomizedElectionTimeout, electionElapsed + 1 + delay)
        }

        mutating func tickLeader() {
            heartbeatElapsed += 1
            electionElapsed += 1
            if transferTarget != nil {
                transferElapsed += 1
                if transferElapsed >= options.electionTimeout { abortTransfer() }
            }
            if electionElapsed >= options.electionTimeout {
                electionElapsed = 0
                if options.checkQuorum && !quorumRecentlyActive() {
                    becomeFollower(term: term, leader: nil)
                    return
                }
                for member in progress.keys.sorted() {
                    progress[member]!.recentActive = member == id
                    if progress[member]!.state == .snapshot {
                        progress[member]!.snapshotPeriods += 1
                        if progress[member]!.snapshotPeriods >= 2 { progress[member]!.becomeProbe() }
                    }
                }
            }
            if heartbeatElapsed >= options.heartbeatInterval {
                heartbeatElapsed = 0
                broadcastHeartbeat(fromTick: true)
            }
        }

        /// Whether a majority of voters (the leader included) were heard from in this CheckQuorum period.
        func quorumRecentlyActive() -> Bool {
            let active = configuration.voters.filter { $0 == id || progress[$0]?.recentActive == true }
            return active.count >= configuration.quorum
        }

        mutating func resetElectionTimer() {
            electionElapsed = 0
            randomizedElectionTimeout =
                options.electionTimeout + Int(random.next() % UInt64(options.electionTimeout))
        }

        // MARK: Role changes

        mutating func reset(term newTerm: UInt64) {
            if newTerm != term {
                term = newTerm
                vote = nil
            }
            leader = nil
            heartbeatElapsed = 0
            resetElectionTimer()
            votes = [:]
            abortTransfer()
            progress = [:]
            dropPendingReads()
        }

        mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID?) {
            reset(term: newTerm)
            role = .follower
            leader = newLeader
        }

        mutating func becomeLeader() {
            precondition(role == .candidate, "only a candidate becomes leader")
            reset(term: term)
            role = .leader
            leader = id
            for member in configuration.members {
                progress[member] = Progress(next: log.lastIndex + 1)
            }
            if progress[id] != nil {
                _ = progress[id]!.update(matched: persistedIndex)
                progress[id]!.becomeReplicate()
                progress[id]!.recentActive = true
            }
            // §5.4.2 / thesis §6.4: an empty entry of the new term lets the leader commit, and learn what is committed.
            appendAsLeader([.empty])
        }

        /// Appends payloads as the leader; returns the position of the last one.
        @discardableResult
        mutating func appendAsLeader(_ payloads: [Payload]) -> LogPosition {
            var index = log.lastIndex
            var newEntries: [Entry] = []
            newEntries.reserveCapacity(payloads.count)
            for payload in payloads {
                index += 1
                newEntries.append(Entry(index: index, term: term, payload: payload))
                if case .configuration(let next) = payload { apply(configuration: next, at: index) }
            }
            log.append(newEntries)
            needsBroadcast = true
            // A single-voter cluster commits as soon as its own write is durable, in advance().
            return log.last
        }

        mutating func send(_ kind: Message.Kind, to recipient: NodeID, term messageTerm: UInt64? = nil) {
            var message = Message(from: id, to: recipient, term: messageTerm ?? term, kind: kind)
            if options.injectedBugs.contains(.acknowledgeAppendsBeforePersisting) {
                message.acknowledgesBeforePersisting = true
            }
            outbox.append(message)
        }
    }
}
