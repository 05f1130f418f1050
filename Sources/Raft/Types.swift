/// The consensus core of Gantry: a Raft state machine after Ongaro and Ousterhout's paper ("In Search of an
/// Understandable Consensus Algorithm", extended version) and Ongaro's thesis ("Consensus: Bridging Theory and
/// Practice", 2014).
///
/// Everything in this module is pure: no clock, no socket, no thread, no global randomness. Time arrives as
/// `Node.tick()`, randomness from a seeded generator injected at construction, and every effect leaves as data in a
/// `Ready`. Collections that influence behaviour are iterated in sorted order so that one seed always gives one run.
package enum Raft {}

extension Raft {
    /// Identifies a node of the cluster. Zero is reserved and never a valid id.
    package typealias NodeID = UInt64

    /// The position of an entry in the log: its index and the term it was created in. Two entries with the same
    /// position hold the same data (Log Matching Property, §5.3).
    package struct LogPosition: Sendable, Hashable, CustomStringConvertible {
        /// The entry's index, starting at 1.
        package var index: UInt64
        /// The term of the leader that created the entry.
        package var term: UInt64

        /// Creates a position.
        package init(index: UInt64, term: UInt64) {
            self.index = index
            self.term = term
        }

        /// `index@term`.
        package var description: String { "\(index)@\(term)" }
    }

    /// What an entry carries.
    package enum Payload: Sendable, Equatable {
        /// The entry a new leader appends at once so that it can commit (§5.4.2, thesis §6.4).
        case empty
        /// Opaque state-machine command bytes.
        case command([UInt8])
        /// A new cluster configuration; it takes effect on every node as soon as it is in that node's log
        /// (thesis §4.1), not when it commits.
        case configuration(Configuration)

        /// Bytes counted against `Options.maxMessageBytes`.
        package var byteCount: Int {
            switch self {
            case .empty: return 0
            case .command(let bytes): return bytes.count
            case .configuration(let configuration):
                return 8 * (configuration.voters.count + configuration.learners.count)
            }
        }
    }

    /// One log entry.
    package struct Entry: Sendable, Equatable {
        /// Index in the log, starting at 1.
        package var index: UInt64
        /// Term of the leader that appended it.
        package var term: UInt64
        /// What it carries.
        package var payload: Payload

        /// Creates an entry.
        package init(index: UInt64, term: UInt64, payload: Payload) {
            self.index = index
            self.term = term
            self.payload = payload
        }

        /// The entry's position.
        package var position: LogPosition { LogPosition(index: index, term: term) }
    }

    /// The state that must be on stable storage before the node answers any message (Figure 2, "Persistent state on
    /// all servers"). `commit` is persisted too so that a restarted node can apply up to it without waiting.
    package struct HardState: Sendable, Equatable {
        /// Latest term the node has seen.
        package var term: UInt64
        /// The candidate voted for in `term`, if any.
        package var vote: NodeID?
        /// Highest index known to be committed.
        package var commit: UInt64

        /// Creates a hard state.
        package init(term: UInt64 = 0, vote: NodeID? = nil, commit: UInt64 = 0) {
            self.term = term
            self.vote = vote
            self.commit = commit
        }
    }

    /// The voters and learners of the cluster. Kept sorted so iteration order never depends on hashing.
    ///
    /// Invariant: `voters` and `learners` are sorted, without duplicates, and disjoint.
    package struct Configuration: Sendable, Hashable, CustomStringConvertible {
        /// Members that vote and count toward quorums.
        package private(set) var voters: [NodeID]
        /// Members that receive the log but neither vote nor count toward quorums (thesis §4.2.1).
        package private(set) var learners: [NodeID]

        /// Creates a configuration; duplicates are removed, and a node listed in both lists is a voter.
        package init(voters: [NodeID], learners: [NodeID] = []) {
            let voterSet = Set(voters)
            self.voters = voterSet.sorted()
            self.learners = Set(learners).subtracting(voterSet).sorted()
        }

        /// The empty configuration of a node that has not yet been told its cluster.
        package static let empty = Configuration(voters: [])

        /// Every member, voters first.
        package var members: [NodeID] { voters + learners }
        /// Votes needed for a majority of the voters.
        package var quorum: Int { voters.count / 2 + 1 }

        /// Whether `id` is a voter.
        package func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
        /// Whether `id` is a learner.
        package func isLearner(_ id: NodeID) -> Bool { learners.contains(id) }
        /// Whether `id` is a voter or a learner.
        package func contains(_ id: NodeID) -> Bool { isVoter(id) || isLearner(id) }

        /// The configuration after `change`, or why the change is not allowed. Every allowed change adds or removes
        /// at most one voter, which is what makes single-server changes safe (thesis §4.1).
        package func applying(_ change: ConfigurationChange) -> Result<Configuration, ProposalRefusal> {
            switch change {
            case .addVoter(let id):
                guard id != 0 else { return .failure(.invalidConfigurationChange("node id 0 is reserved")) }
                guard !isVoter(id) else {
                    return .failure(.invalidConfigurationChange("node \(id) is already a voter"))
                }
                return .success(Configuration(voters: voters + [id], learners: learners.filter { $0 != id }))
            case .addLearner(let id):
                guard id != 0 else { return .failure(.invalidConfigurationChange("node id 0 is reserved")) }
                guard !contains(id) else {
                    return .failure(.invalidConfigurationChange("node \(id) is already a member"))
                }
                return .success(Configuration(voters: voters, learners: learners + [id]))
            case .promote(let id):
                guard isLearner(id) else {
                    return .failure(.invalidConfigurationChange("node \(id) is not a learner"))
                }
                return .success(Configuration(voters: voters + [id], learners: learners.filter { $0 != id }))
            case .remove(let id):
                guard contains(id) else { return .failure(.invalidConfigurationChange("node \(id) is not a member")) }
                guard voters != [id] else {
                    return .failure(.invalidConfigurationChange("cannot remove the last voter \(id)"))
                }
                return .success(
                    Configuration(voters: voters.filter { $0 != id }, learners: learners.filter { $0 != id })
                )
            }
        }

        /// `voters=[1,2,3] learners=[4]`.
        package var description: String { "voters=\(voters) learners=\(learners)" }
    }

    /// A single-server membership change. Gantry uses single-server changes with the one-change-at-a-time rule
    /// rather than joint consensus: every change an operator needs (add, remove, replace a node through
    /// learner → promote → remove) is a sequence of single steps, and single steps need no second configuration
    /// in every quorum computation. See `Node.proposeConfigurationChange(_:)` for the rules that keep it safe.
    package enum ConfigurationChange: Sendable, Hashable {
        /// Adds a voter directly (prefer `addLearner` then `promote`, so the new voter is caught up first).
        case addVoter(NodeID)
        /// Adds a non-voting learner.
        case addLearner(NodeID)
        /// Turns a learner into a voter.
        case promote(NodeID)
        /// Removes a voter or a learner.
        case remove(NodeID)
    }

    /// Describes a snapshot: the last entry it covers and the configuration as of that entry.
    package struct SnapshotMetadata: Sendable, Equatable {
        /// Index and term of the last entry the snapshot replaces.
        package var last: LogPosition
        /// Configuration in force at `last.index`.
        package var configuration: Configuration

        /// Creates snapshot metadata.
        package init(last: LogPosition, configuration: Configuration) {
            self.last = last
            self.configuration = configuration
        }
    }

    /// A state-machine snapshot with its metadata.
    package struct Snapshot: Sendable, Equatable {
        /// What the snapshot covers.
        package var metadata: SnapshotMetadata
        /// The serialized state machine; opaque to Raft.
        package var data: [UInt8]

        /// Creates a snapshot.
        package init(metadata: SnapshotMetadata, data: [UInt8]) {
            self.metadata = metadata
            self.data = data
        }
    }

    /// Why a proposal, configuration change or leadership transfer was refused. Nothing refused was appended: the
    /// caller may retry elsewhere or later.
    package enum ProposalRefusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// This node is not the leader; `leaderHint` is the leader it knows of, if any.
        case notLeader(leaderHint: NodeID?)
        /// A leadership transfer to the given node is in progress; proposals wait until it ends (thesis §3.10).
        case transferInProgress(to: NodeID)
        /// The configuration entry at this index has not committed yet; one change at a time (thesis §4.1).
        case configurationChangePending(index: UInt64)
        /// A new leader must commit an entry of its own term before it changes the configuration (the fix for the
        /// single-server change bug Ongaro described on raft-dev in 2015).
        case leaderNotCommittedInTerm
        /// The change itself is not allowed.
        case invalidConfigurationChange(String)
        /// The node halted after detecting a safety violation (see `Node.haltReason`).
        case halted(String)

        /// A sentence an operator can act on.
        package var description: String {
            switch self {
            case .notLeader(let hint):
                return hint.map { "not the leader; node \($0) is" } ?? "not the leader, and no leader is known"
            case .transferInProgress(let target): return "leadership is being transferred to node \(target)"
            case .configurationChangePending(let index):
                return "the configuration change at index \(index) has not committed yet"
            case .leaderNotCommittedInTerm: return "the new leader has not yet committed an entry in its term"
            case .invalidConfigurationChange(let reason): return "invalid configuration change: \(reason)"
            case .halted(let reason): return "the node halted: \(reason)"
            }
        }
    }

    /// A read index granted to the shell: once the local state machine has applied `index`, a read tagged with
    /// `context` may be served from local state and is linearizable (thesis §6.4).
    package struct ReadState: Sendable, Equatable {
        /// The caller's tag from `Node.requestRead(context:)`.
        package var context: UInt64
        /// The commit index the read must wait for.
        package var index: UInt64

        /// Creates a read state.
        package init(context: UInt64, index: UInt64) {
            self.context = context
            self.index = index
        }
    }

    /// The role a node plays in its current term.
    package enum Role: String, Sendable, Equatable {
        /// Follows a leader, or waits for one.
        case follower
        /// Asks for pre-votes without disturbing the cluster's term (thesis §9.6).
        case preCandidate
        /// Asks for votes in a new term.
        case candidate
        /// Leads the term.
        case leader
    }

    /// Volatile facts the shell may want to report when they change.
    package struct SoftState: Sendable, Equatable {
        /// The node's role.
        package var role: Role
        /// The leader the node knows of.
        package var leader: NodeID?
    }

    /// Deliberate Raft bugs the simulation must catch, proving its checkers can fail. Test-only: never set outside
    /// tests.
    package enum InjectedBug: String, Sendable, Hashable, CaseIterable {
        /// Commit entries of earlier terms by counting replicas (the Figure 8 mistake, §5.4.2).
        case commitEntriesOfEarlierTerms
        /// Grant votes without the "at least as up-to-date" log check (§5.4.1).
        case grantVoteWithoutLogCheck
        /// Answer read-index requests at once, without a heartbeat round confirming leadership (thesis §6.4).
        case serveReadsWithoutLeadershipCheck
        /// Let append acknowledgements leave before the entries they acknowledge are durable (Figure 2: "respond to
        /// RPCs only after updating stable storage").
        case acknowledgeAppendsBeforePersisting
    }

    /// Tuning and behaviour switches of a node.
    package struct Options: Sendable {
        /// Ticks without hearing from a leader before a follower campaigns; the actual timeout is drawn uniformly from
        /// `[electionTimeout, 2 × electionTimeout)` (§5.2). Also the CheckQuorum period of a leader.
        package var electionTimeout: Int = 10
        /// Ticks between a leader's heartbeats. Must be less than `electionTimeout`.
        package var heartbeatInterval: Int = 1
        /// Run a pre-vote round before a real election, so a partitioned node cannot inflate terms (thesis §9.6).
        package var preVote: Bool = true
        /// A leader that has not heard from a majority for an election timeout steps down, and followers that heard
        /// from a leader within the election timeout ignore vote requests (thesis §6.2, §4.2.3).
        package var checkQuorum: Bool = true
        /// Maximum appends carrying entries in flight to one follower in the pipeline state (appends that only carry
        /// the commit index are not counted).
        package var maxInflightMessages: Int = 256
        /// Maximum payload bytes in one append message (at least one entry is always sent).
        package var maxMessageBytes: Int = 1 << 20
        /// Maximum committed-entry payload bytes handed to the shell in one `Ready` (at least one entry is always
        /// handed).
        package var maxCommittedBytesPerReady: Int = 8 << 20
        /// Test-only: deliberate bugs. Empty in production.
        package var injectedBugs: Set<InjectedBug> = []

        /// Default options.
        package init() {}
    }
}
