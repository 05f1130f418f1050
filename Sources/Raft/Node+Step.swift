extension Raft.Node {
    /// Handles a message from another node.
    package mutating func step(_ message: Raft.Message) {
        guard haltReason == nil, message.to == id, message.from != id else { return }
        guard handleTerm(of: message) else { return }
        switch message.kind {
        case .vote(let request):
            handleVoteRequest(request, from: message.from, term: message.term)
        case .voteResponse(let response):
            handleVoteResponse(response, from: message.from)
        case .append(let append):
            guard role != .leader else { return }
            becomeFollowerOfCurrentLeader(message.from)
            handleAppend(append, from: message.from)
        case .heartbeat(let heartbeat):
            guard role != .leader else { return }
            becomeFollowerOfCurrentLeader(message.from)
            handleHeartbeat(heartbeat, from: message.from)
        case .snapshot(let snapshot):
            guard role != .leader else { return }
            becomeFollowerOfCurrentLeader(message.from)
            handleSnapshot(snapshot, from: message.from)
        case .appendResponse(let response):
            guard role == .leader else { return }
            handleAppendResponse(response, from: message.from)
        case .heartbeatResponse(let response):
            guard role == .leader else { return }
            handleHeartbeatResponse(response, from: message.from)
        case .timeoutNow:
            // Thesis §3.10: the transfer target starts an election at once, skipping pre-vote and stickiness.
            if isPromotable && role != .leader {
                campaign(preVote: false, transfer: true)
            }
        case .readIndex(let context):
            if role == .leader {
                handleReadRequest(context: context, from: message.from)
            }
        case .readIndexResponse(let context, let index):
            if role != .leader {
                readStates.append(Raft.ReadState(context: context, index: index))
            }
        }
    }

    /// Applies the term rules common to every message (Figure 2, "All servers"; thesis §9.6 for pre-vote, §4.2.3 for
    /// stickiness). Returns false when the message must be ignored.
    mutating func handleTerm(of message: Raft.Message) -> Bool {
        if message.term > term {
            switch message.kind {
            case .vote(let request):
                // Leader stickiness (thesis §4.2.3): a node that heard from a live leader within the minimum
                // election timeout ignores vote requests, unless the leader itself asked for the election.
                let inLease = options.checkQuorum && leader != nil && electionElapsed < options.electionTimeout
                if inLease && !request.leadershipTransfer { return false }
                // A pre-vote never changes the recipient's term.
                if request.preVote { return true }
                becomeFollower(term: message.term, leader: nil)
            case .voteResponse(let response) where response.preVote && response.granted:
                // A granted pre-vote echoes the future term; it is not a newer term.
                return true
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: nil)
            }
            return true
        }
        if message.term < term {
            switch message.kind {
            case .append, .heartbeat:
                // A deposed leader, perhaps back from a partition: tell it the newer term so it steps down. Without
                // this, CheckQuorum and pre-vote could leave it unable to learn the term (etcd raft issue 5451).
                if options.checkQuorum || options.preVote {
                    send(.appendResponse(Raft.AppendResponse(success: false, index: 0)), to: message.from)
                }
            case .vote(let request):
                // Figure 2: "Reply false if term < currentTerm" — the reply carries our term, so a candidate that
                // fell behind (without pre-vote it may never hear from a leader) learns it and can catch up.
                send(.voteResponse(Raft.VoteResponse(granted: false, preVote: request.preVote)), to: message.from)
            default:
                break
            }
            return false
        }
        return true
    }

    mutating func becomeFollowerOfCurrentLeader(_ sender: Raft.NodeID) {
        if role != .follower || leader != sender {
            becomeFollower(term: term, leader: sender)
        }
        electionElapsed = 0
    }

    // MARK: Elections

    /// Starts a pre-election (pre-vote) or an election (§5.2).
    mutating func campaign(preVote: Bool, transfer: Bool) {
        let electionTerm: UInt64
        if preVote {
            // Becoming a pre-candidate changes neither term nor vote; it forgets the leader, which is gone.
            let oldTerm = term
            reset(term: oldTerm)
            role = .preCandidate
            electionTerm = term + 1
        } else {
            reset(term: term + 1)
            role = .candidate
            vote = id
            electionTerm = term
        }
        votes = [id: true]
        if grantedVotes() >= configuration.quorum {
            finishElection(preVote: preVote, transfer: transfer)
            return
        }
        let request = Raft.VoteRequest(lastLog: log.last, preVote: preVote, leadershipTransfer: transfer)
        for voter in configuration.voters where voter != id {
            send(.vote(request), to: voter, term: electionTerm)
        }
    }

    func grantedVotes() -> Int {
        configuration.voters.filter { votes[$0] == true }.count
    }

    func rejectedVotes() -> Int {
        configuration.voters.filter { votes[$0] == false }.count
    }

    mutating func finishElection(preVote: Bool, transfer: Bool) {
        if preVote {
            campaign(preVote: false, transfer: transfer)
        } else {
            becomeLeader()
        }
    }

    mutating func handleVoteRequest(_ request: Raft.VoteRequest, from candidate: Raft.NodeID, term requestTerm: UInt64)
    {
        // Figure 2, RequestVote: grant if we have not voted for another in this term and the candidate's log is at
        // least as up-to-date as ours. A pre-vote for a later term is granted on the log check alone, unless we
        // follow a live leader (handled in handleTerm).
        let canVote =
            vote == candidate
            || (vote == nil && leader == nil)
            || (request.preVote && requestTerm > term)
        let upToDate =
            options.injectedBugs.contains(.grantVoteWithoutLogCheck) || log.isUpToDate(request.lastLog)
        if canVote && upToDate {
            send(
                .voteResponse(Raft.VoteResponse(granted: true, preVote: request.preVote)),
                to: candidate,
                term: request.preVote ? requestTerm : term
            )
            if !request.preVote {
                vote = candidate
                electionElapsed = 0
            }
        } else {
            send(.voteResponse(Raft.VoteResponse(granted: false, preVote: request.preVote)), to: candidate)
        }
    }

    mutating func handleVoteResponse(_ response: Raft.VoteResponse, from voter: Raft.NodeID) {
        let counting =
            (role == .preCandidate && response.preVote) || (role == .candidate && !response.preVote)
        guard counting else { return }
        votes[voter] = response.granted
        if grantedVotes() >= configuration.quorum {
            finishElection(preVote: role == .preCandidate, transfer: false)
        } else if rejectedVotes() >= configuration.quorum {
            becomeFollower(term: term, leader: nil)
        }
    }
}
