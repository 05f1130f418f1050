import API
import ClusterState
import HTTP
import Raft

extension NodeLoop {
    func statusView() -> NodeStatusView {
        NodeStatusView(
            id: configuration.nodeID,
            clusterID: configuration.clusterID,
            role: role.rawValue,
            term: node.term,
            leader: knownLeader ?? 0,
            commitIndex: node.log.commitIndex,
            appliedIndex: state.appliedIndex,
            lastContactMilliseconds: lastContactMilliseconds(),
            version: gantryVersion,
            halted: node.haltReason
        )
    }

    func membersView() -> RaftMembersView {
        let configuration = node.configuration
        let progress = Dictionary(uniqueKeysWithValues: node.peers.map { ($0.id, $0) })
        let last = node.log.lastIndex
        let isLeader = role == .leader
        let members = (configuration.voters.sorted() + configuration.learners.sorted()).map { id in
            let peer = progress[id]
            return RaftMembersView.Member(
                id: id,
                address: id == self.configuration.nodeID
                    ? self.configuration.peerAddress : (state.memberAddresses[id] ?? self.configuration.members[id]),
                suffrage: configuration.isVoter(id) ? "voter" : "learner",
                leader: id == knownLeader,
                matchIndex: isLeader
                    ? (peer?.match ?? (id == self.configuration.nodeID ? node.persistedIndex : nil)) : nil,
                lag: isLeader ? peer.map { last > $0.match ? last - $0.match : 0 } : nil,
                replication: isLeader ? peer?.state.rawValue : nil,
                active: isLeader ? (peer?.recentActive ?? (id == self.configuration.nodeID)) : nil
            )
        }
        return RaftMembersView(
            leader: knownLeader ?? 0,
            term: node.term,
            lastIndex: isLeader ? last : nil,
            members: members
        )
    }

    /// 200 when a leader is known, this node heard from it recently (or leads), and it applied everything it knows
    /// committed; else 503 with the reason.
    func readiness() -> HTTPResponse {
        var problems: [String] = []
        if knownLeader == nil { problems.append("no leader known") }
        if role != .leader {
            let contact = lastContactMilliseconds()
            if contact < 0 || contact > Int64(configuration.electionMilliseconds) {
                problems.append("no recent contact with the leader")
            }
        }
        if state.appliedIndex < node.log.commitIndex {
            problems.append("applied \(state.appliedIndex) of \(node.log.commitIndex) committed entries")
        }
        if let reason = node.haltReason { problems.append("halted: \(reason)") }
        guard problems.isEmpty else {
            return APIError(status: 503, code: "not_ready", message: problems.joined(separator: "; ")).response
        }
        return JSON.response(["status": "ready"])
    }

    func metricsResponse() -> HTTPResponse {
        var text = ""
        let roleValue: Int
        switch role {
        case .follower: roleValue = 0
        case .preCandidate: roleValue = 1
        case .candidate: roleValue = 2
        case .leader: roleValue = 3
        }
        text += metricLine("gantry_raft_term", "gauge", "Current Raft term.", String(node.term))
        text += metricLine(
            "gantry_raft_role",
            "gauge",
            "Raft role: 0 follower, 1 pre-candidate, 2 candidate, 3 leader.",
            String(roleValue)
        )
        text += metricLine("gantry_raft_leader", "gauge", "Known leader id (0: none).", String(knownLeader ?? 0))
        text += metricLine(
            "gantry_raft_commit_index",
            "gauge",
            "Highest committed index known.",
            String(node.log.commitIndex)
        )
        text += metricLine("gantry_raft_applied_index", "gauge", "Highest applied index.", String(state.appliedIndex))
        text += metricLine("gantry_raft_last_index", "gauge", "Last log index.", String(node.log.lastIndex))
        text += metricLine(
            "gantry_raft_leader_changes_total",
            "counter",
            "Times the known leader changed.",
            String(metrics.leaderChanges)
        )
        text += metricLine("gantry_proposals_total", "counter", "Commands proposed here.", String(metrics.proposals))
        text += metricLine(
            "gantry_proposals_failed_total",
            "counter",
            "Proposals refused or timed out.",
            String(metrics.proposalsFailed)
        )
        text += metrics.proposalLatency.render(
            "gantry_proposal_seconds",
            help: "From proposal to apply on the leader."
        )
        text += metrics.fsyncLatency.render(
            "gantry_wal_fsync_seconds",
            help: "Write-ahead log batch write + fdatasync."
        )
        text += metrics.readIndexLatency.render(
            "gantry_read_index_seconds",
            help: "Linearizable read: from request to served."
        )
        text += metricLine(
            "gantry_snapshots_taken_total",
            "counter",
            "State snapshots taken.",
            String(metrics.snapshotsTaken)
        )
        text += metricLine(
            "gantry_snapshots_installed_total",
            "counter",
            "Snapshots received from a leader.",
            String(metrics.snapshotsInstalled)
        )
        let statistics = transport.statistics()
        text +=
            "# HELP gantry_peer_send_queue_depth Frames queued for a peer.\n# TYPE gantry_peer_send_queue_depth gauge\n"
        for id in statistics.keys.sorted() {
            text += "gantry_peer_send_queue_depth{peer=\"\(id)\"} \(statistics[id]!.queuedFrames)\n"
        }
        text += "# HELP gantry_peer_dropped_frames_total Frames dropped for a full queue.\n"
        text += "# TYPE gantry_peer_dropped_frames_total counter\n"
        for id in statistics.keys.sorted() {
            text += "gantry_peer_dropped_frames_total{peer=\"\(id)\"} \(statistics[id]!.droppedFrames)\n"
        }
        text += "# HELP gantry_peer_connected Whether the outbound link to a peer is up.\n"
        text += "# TYPE gantry_peer_connected gauge\n"
        for id in statistics.keys.sorted() {
            text += "gantry_peer_connected{peer=\"\(id)\"} \(statistics[id]!.connected ? 1 : 0)\n"
        }
        text += requests.render()
        return HTTPResponse(
            status: 200,
            headers: [HTTPHeader(name: "Content-Type", value: "text/plain; version=0.0.4")],
            body: Array(text.utf8)
        )
    }

    func backupResponse() -> HTTPResponse {
        let backup = Backup(index: state.appliedIndex, term: lastAppliedTerm, state: state.snapshot())
        return HTTPResponse(
            status: 200,
            headers: [
                HTTPHeader(name: "Content-Type", value: "application/octet-stream"),
                HTTPHeader(name: "X-Gantry-Index", value: String(backup.index)),
                HTTPHeader(name: "Content-Disposition", value: "attachment; filename=\"gantry-\(backup.index).snap\""),
            ],
            body: backup.encoded()
        )
    }
}
