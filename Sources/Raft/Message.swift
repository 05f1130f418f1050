extension Raft {
    /// A message between two nodes. `term` is the sender's current term, except in pre-vote requests and granted
    /// pre-vote responses, where it is the term the sender would campaign in (thesis §9.6).
    package struct Message: Sendable, Equatable {
        /// Sender.
        package var from: NodeID
        /// Recipient.
        package var to: NodeID
        /// The sender's term (see the type's documentation for the pre-vote exception).
        package var term: UInt64
        /// What the message says.
        package var kind: Kind

        /// Set by `Node.ready()` on every message of a `Ready` whose hard state changes the term or the vote: nothing
        /// a node says in a term may leave before that term, and the vote cast in it, are durable (Figure 2). This
        /// matters for a lone voter, which elects itself and starts replicating to learners within one `Ready`.
        package var followsTermChange = false

        /// Test-only: set by a node with the `acknowledgeAppendsBeforePersisting` bug planted.
        package var acknowledgesBeforePersisting = false

        /// Creates a message.
        package init(from: NodeID, to: NodeID, term: UInt64, kind: Kind) {
            self.from = from
            self.to = to
            self.term = term
            self.kind = kind
        }

        /// The kinds of messages.
        package enum Kind: Sendable, Equatable {
            /// AppendEntries RPC (Figure 2).
            case append(Append)
            /// Reply to `append` or `snapshot`.
            case appendResponse(AppendResponse)
            /// RequestVote RPC, or a pre-vote request.
            case vote(VoteRequest)
            /// Reply to `vote`.
            case voteResponse(VoteResponse)
            /// Leader heartbeat: carries a commit index the recipient is known to have, and the read round.
            case heartbeat(Heartbeat)
            /// Reply to `heartbeat`, echoing its read round.
            case heartbeatResponse(HeartbeatResponse)
            /// InstallSnapshot RPC (§7), whole; the shell may stream it in chunks.
            case snapshot(Snapshot)
            /// Start an election now, ignoring the election timer: the last step of a leadership transfer.
            case timeoutNow
            /// A follower asks the leader for a read index.
            case readIndex(context: UInt64)
            /// The leader grants a follower's read index.
            case readIndexResponse(context: UInt64, index: UInt64)
        }

        /// Whether the shell may send this message before the `Ready` that carries it has been persisted. True only
        /// for what a leader sends to replicate and lead: the leader's log write may run in parallel with
        /// replication (thesis §10.2.1), because the leader counts its own entries toward commit only after
        /// `Node.advance()` says they are durable. Everything else (votes, vote requests, append responses) speaks
        /// for persisted state and must wait.
        package var mayBeSentBeforePersisting: Bool {
            if acknowledgesBeforePersisting, case .appendResponse = kind { return true }
            if followsTermChange { return false }
            switch kind {
            case .append, .heartbeat, .snapshot, .timeoutNow, .readIndexResponse: return true
            case .appendResponse, .vote, .voteResponse, .heartbeatResponse, .readIndex: return false
            }
        }
    }

    /// AppendEntries arguments.
    package struct Append: Sendable, Equatable {
        /// Position of the entry immediately preceding `entries`.
        package var previous: LogPosition
        /// Entries to store (empty for a probe or a commit update).
        package var entries: [Entry]
        /// The leader's commit index.
        package var leaderCommit: UInt64

        /// Creates append arguments.
        package init(previous: LogPosition, entries: [Entry], leaderCommit: UInt64) {
            self.previous = previous
            self.entries = entries
            self.leaderCommit = leaderCommit
        }
    }

    /// AppendEntries (or InstallSnapshot) result.
    package struct AppendResponse: Sendable, Equatable {
        /// Whether the follower's log now matches the leader's up to `index`.
        package var success: Bool
        /// On success: the last index known to match. On rejection: the `previous.index` that did not match.
        package var index: UInt64
        /// On rejection, the fast back-off hint: the largest index at or below the rejected one whose term is at
        /// most `hintTerm`, so the leader skips a whole conflicting term per round trip, not one entry.
        package var hintIndex: UInt64
        /// The term of the follower's entry at `hintIndex`.
        package var hintTerm: UInt64

        /// Creates an append result.
        package init(success: Bool, index: UInt64, hintIndex: UInt64 = 0, hintTerm: UInt64 = 0) {
            self.success = success
            self.index = index
            self.hintIndex = hintIndex
            self.hintTerm = hintTerm
        }
    }

    /// RequestVote arguments.
    package struct VoteRequest: Sendable, Equatable {
        /// Position of the candidate's last entry.
        package var lastLog: LogPosition
        /// A pre-vote: the recipient neither changes its term nor records a vote.
        package var preVote: Bool
        /// Sent because the old leader asked (TimeoutNow): recipients do not apply leader stickiness.
        package var leadershipTransfer: Bool

        /// Creates vote arguments.
        package init(lastLog: LogPosition, preVote: Bool, leadershipTransfer: Bool) {
            self.lastLog = lastLog
            self.preVote = preVote
            self.leadershipTransfer = leadershipTransfer
        }
    }

    /// RequestVote result.
    package struct VoteResponse: Sendable, Equatable {
        /// Whether the vote (or pre-vote) was granted.
        package var granted: Bool
        /// Whether this answers a pre-vote.
        package var preVote: Bool

        /// Creates a vote result.
        package init(granted: Bool, preVote: Bool) {
            self.granted = granted
            self.preVote = preVote
        }
    }

    /// Heartbeat arguments.
    package struct Heartbeat: Sendable, Equatable {
        /// `min(leader commit, recipient's match index)`: never beyond what the recipient is known to hold.
        package var commit: UInt64
        /// The leader's newest read round; the response echoes it and so confirms leadership for every read of that
        /// round or an earlier one.
        package var readRound: UInt64

        /// Creates heartbeat arguments.
        package init(commit: UInt64, readRound: UInt64) {
            self.commit = commit
            self.readRound = readRound
        }
    }

    /// Heartbeat result.
    package struct HeartbeatResponse: Sendable, Equatable {
        /// The read round of the heartbeat answered.
        package var readRound: UInt64

        /// Creates a heartbeat result.
        package init(readRound: UInt64) {
            self.readRound = readRound
        }
    }
}
