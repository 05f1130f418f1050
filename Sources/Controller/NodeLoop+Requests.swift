import API
import ClusterState
import HTTP
import Orchestration
import Raft
import Wire

extension NodeLoop {
    /// Handles one routed request on the loop.
    func handleRequest(_ request: APIRequest, _ http: HTTPRequest, forwardedFrom: UInt64?, reply: @escaping Reply) {
        if let agent = request.agent {
            switch AgentAccess.verify(agent, in: state.domain) {
            case .valid:
                break
            case .unknownInstance(let error):
                // An agent that just registered through another controller may be ahead of this one's state: the
                // leader, which applied the registration before answering it, decides.
                if role != .leader, forwardedFrom == nil, knownLeader != nil {
                    forward(http, reply: reply)
                } else {
                    reply(error.response)
                }
                return
            case .refused(let error):
                reply(error.response)
                return
            }
        }
        switch request.operation {
        case .health:
            reply(JSON.response(["status": "ok"]))
        case .ready:
            reply(readiness())
        case .metrics:
            reply(metricsResponse())
        case .status:
            reply(JSON.response(statusView()))
        case .openAPIDocument:
            reply(OpenAPI.response(version: gantryVersion))
        case .raftMembers:
            if role == .leader || forwardedFrom != nil || knownLeader == nil {
                reply(JSON.response(membersView()))
            } else {
                forward(http, reply: reply)
            }
        case .getParameter, .listParameters, .domainRead, .taskSecrets:
            read(request, reply: reply, forwardedFrom: forwardedFrom)
        case .taskLogs(let cluster, let task, let container, let offset):
            // Any controller serves it from its own state (stale is fine: where a task runs changes rarely); the
            // call to the agent runs off the loop.
            switch TaskLogs.plan(cluster: cluster, task: task, container: container, offset: offset, in: state.domain) {
            case .success(let call):
                logProxy.fetch(call, reply: reply)
            case .failure(let error):
                reply(error.response)
            }
        case .write, .domainWrite, .addMember, .removeMember, .transferLeadership, .snapshot, .heartbeat:
            guard role == .leader else {
                if let forwardedFrom {
                    // One hop only: a forwarded request that finds no leader here is not forwarded again.
                    reply(notLeader(hint: knownLeader, detail: "forwarded from node \(forwardedFrom)"))
                } else if knownLeader != nil {
                    forward(http, reply: reply)
                } else {
                    reply(notLeader(hint: nil, detail: nil))
                }
                return
            }
            lead(request, reply: reply)
        }
    }

    /// Leader-only operations.
    func lead(_ request: APIRequest, reply: @escaping Reply) {
        switch request.operation {
        case .write(let token, let action):
            let command = Command(clientToken: token, time: Clock.wallMilliseconds(), action: action)
            propose(command, kind: .write, reply: reply)
        case .domainWrite(let token, let domainCommand):
            // Ids and agent credentials are the leader's to choose, inside the command, so every node applies the
            // same ones.
            let stamped = domainCommand.fillingIDs(randomIdentifier, agentCredential: randomAgentCredential)
            let envelope = DomainEnvelope(arnPrefix: configuration.arnPrefix, command: stamped)
            let command = Command(clientToken: token, time: Clock.wallMilliseconds(), action: .domain(envelope))
            propose(command, kind: .write, reply: reply)
        case .heartbeat(let cluster, let reference):
            guard let instance = state.domain.instance(reference, in: cluster), instance.status != "INACTIVE" else {
                reply(DomainRender.instanceNotFound(reference, cluster))
                return
            }
            let now = Clock.wallMilliseconds()
            liveness?.lastHeartbeat[instance.id] = now
            struct Answer: Encodable {
                var containerInstanceArn: String
                var agentConnected: Bool
                var ttlMilliseconds: Int
            }
            reply(
                JSON.response(
                    Answer(
                        containerInstanceArn: instance.containerInstanceArn,
                        agentConnected: instance.agentConnected,
                        ttlMilliseconds: configuration.instanceTTLMilliseconds
                    )
                )
            )
        case .addMember(let id, let address):
            guard !node.configuration.contains(id) else {
                reply(APIError(status: 409, code: "already_member", message: "node \(id) is already a member").response)
                return
            }
            let command = Command(time: Clock.wallMilliseconds(), action: .setMemberAddress(id: id, address: address))
            propose(command, kind: .memberAddress(id: id), reply: reply)
        case .removeMember(let id):
            guard node.configuration.contains(id) else {
                reply(APIError(status: 404, code: "not_member", message: "node \(id) is not a member").response)
                return
            }
            proposeConfiguration(.remove(id), description: "removed node \(id)", reply: reply)
        case .transferLeadership(let target):
            transferLeadership(to: target, reply: reply)
        case .snapshot:
            reply(backupResponse())
        default:
            preconditionFailure("lead(_:) called with \(request.operation)")
        }
    }

    func propose(_ command: Command, kind: Waiter.Kind, reply: @escaping Reply) {
        metrics.proposals += 1
        switch node.propose(command.encoded()) {
        case .success(let position):
            if plantedBug == .acknowledgeOnPropose, case .write = kind {
                reply(JSON.response(["index": String(position.index), "planted": "ack-on-propose"]))
                return
            }
            waiters[position.index] = Waiter(
                term: position.term,
                kind: kind,
                reply: reply,
                started: Clock.monotonicNanoseconds(),
                deadline: Clock.monotonicMilliseconds() + Int64(configuration.requestTimeoutMilliseconds)
            )
        case .failure(let refusal):
            metrics.proposalsFailed += 1
            reply(refused(refusal))
        }
    }

    func proposeConfiguration(_ change: Raft.ConfigurationChange, description: String, reply: @escaping Reply) {
        switch node.proposeConfigurationChange(change) {
        case .success(let position):
            logger.log("proposed configuration change: \(description) at \(position)")
            waiters[position.index] = Waiter(
                term: position.term,
                kind: .configuration(description: description),
                reply: reply,
                started: Clock.monotonicNanoseconds(),
                deadline: Clock.monotonicMilliseconds() + Int64(configuration.requestTimeoutMilliseconds)
            )
        case .failure(let refusal):
            reply(refused(refusal))
        }
    }

    func transferLeadership(to requested: UInt64?, reply: @escaping Reply) {
        let candidates = node.peers.filter { $0.isVoter && $0.id != configuration.nodeID }
        guard let target = requested ?? candidates.max(by: { $0.match < $1.match })?.id else {
            reply(APIError(status: 409, code: "no_target", message: "there is no other voter to transfer to").response)
            return
        }
        guard target != configuration.nodeID else {
            reply(JSON.response(["leader": target]))
            return
        }
        switch node.transferLeadership(to: target) {
        case .success:
            logger.log("transferring leadership to node \(target)")
            transfers.append(
                Transfer(
                    target: target,
                    reply: reply,
                    deadline: Clock.monotonicMilliseconds() + Int64(3 * configuration.electionMilliseconds)
                )
            )
        case .failure(let refusal):
            reply(refused(refusal))
        }
    }

    /// The response for a refused proposal.
    func refused(_ refusal: Raft.ProposalRefusal) -> HTTPResponse {
        switch refusal {
        case .notLeader(let hint):
            return notLeader(hint: hint, detail: nil)
        case .transferInProgress(let target):
            return APIError.unavailable("leadership is moving to node \(target); retry in a moment").response
        case .leaderNotCommittedInTerm:
            return APIError.unavailable("the new leader has not committed its first entry yet; retry").response
        case .configurationChangePending(let index):
            return APIError(
                status: 409,
                code: "configuration_change_pending",
                message: "a configuration change at index \(index) has not committed yet; retry after it does"
            ).response
        case .invalidConfigurationChange(let reason):
            return APIError(status: 409, code: "invalid_configuration_change", message: reason).response
        case .halted(let reason):
            return APIError(status: 500, code: "halted", message: "this controller halted: \(reason)").response
        }
    }

    func notLeader(hint: UInt64?, detail: String?) -> HTTPResponse {
        var message = hint.map { "node \($0) leads but could not be reached from here" } ?? "no leader is known"
        if let detail { message += " (\(detail))" }
        var error = APIError.unavailable(message + "; retry shortly")
        error.code = "no_leader"
        if let hint { error.details["leader"] = String(hint) }
        return error.response
    }

    // MARK: Forwarding

    func forward(_ http: HTTPRequest, reply: @escaping Reply) {
        guard let leader = knownLeader else {
            reply(notLeader(hint: nil, detail: nil))
            return
        }
        let id = nextForwardID
        nextForwardID += 1
        let request = ForwardedRequest(
            id: id,
            method: http.method,
            target: http.target,
            headers: http.headers.filter { $0.name.lowercased() != "connection" },
            body: http.body
        )
        forwards[id] = Forward(
            leader: leader,
            reply: reply,
            deadline: Clock.monotonicMilliseconds() + Int64(configuration.requestTimeoutMilliseconds),
            answer: nil
        )
        transport.send(
            .application(kind: ApplicationKind.forwardedRequest.rawValue, payload: request.encoded()),
            to: leader
        )
    }

    /// The leader serves a request a follower forwarded, answering over the peer link.
    func serveForwarded(_ forwarded: ForwardedRequest, from: UInt64) {
        let http = HTTPRequest(
            method: forwarded.method,
            target: forwarded.target,
            version: .http1_1,
            headers: forwarded.headers,
            body: forwarded.body
        )
        let transport = self.transport
        let reply: Reply = { response in
            let answer = ForwardedResponse(id: forwarded.id, response: response)
            transport.send(
                .application(kind: ApplicationKind.forwardedResponse.rawValue, payload: answer.encoded()),
                to: from
            )
        }
        // A peer forwards what a client sent it (clients may not name a caller in ECSGateway.principalHeader: the
        // API refuses such requests) or what its ECS gateway made for a caller it authenticated: trusted.
        switch Router.route(http, tokens: tokens, principal: ECSGateway.principal(of: http)) {
        case .success(let request):
            handleRequest(request, http, forwardedFrom: from, reply: reply)
        case .failure(let error):
            reply(error.response)
        }
    }

    /// The leader answered a forwarded request: reply at once, or once this node has applied the write's index so
    /// that the client reads its own write here.
    func receiveForwardedAnswer(_ answer: ForwardedResponse, from peer: UInt64) {
        guard var forward = forwards[answer.id], forward.leader == peer else { return }
        let response = answer.response
        if let raw = response.headers.first(where: { $0.name == "X-Gantry-Index" })?.value, let index = UInt64(raw),
            index > state.appliedIndex
        {
            forward.answer = (response, index)
            forwards[answer.id] = forward
            return
        }
        forwards[answer.id] = nil
        forward.reply(response)
    }

    // MARK: Reads

    func read(_ request: APIRequest, reply: @escaping Reply, forwardedFrom: UInt64?) {
        if let index = request.read.waitIndex, state.appliedIndex <= index {
            blocking.append(
                BlockingRead(
                    request: request,
                    reply: reply,
                    index: index,
                    deadline: Clock.monotonicMilliseconds() + Int64(request.read.waitMilliseconds),
                    forwardedFrom: forwardedFrom
                )
            )
            return
        }
        proceedRead(request, reply: reply, forwardedFrom: forwardedFrom)
    }

    func proceedRead(_ request: APIRequest, reply: @escaping Reply, forwardedFrom: UInt64?) {
        switch request.read.consistency {
        case .stale:
            reply(serveRead(request, consistency: "stale"))
        case .linearizable where plantedBug == .localLinearizableReads:
            reply(serveRead(request, consistency: "linearizable"))
        case .linearizable:
            let context = nextContext
            nextContext += 1
            switch node.requestRead(context: context) {
            case .success:
                reads[context] = PendingRead(
                    request: request,
                    reply: reply,
                    started: Clock.monotonicNanoseconds(),
                    deadline: Clock.monotonicMilliseconds() + Int64(configuration.requestTimeoutMilliseconds),
                    index: nil
                )
            case .failure(let refusal):
                reply(refused(refusal))
            }
        }
    }

    /// Answers a read from local state, with headers saying how fresh it is.
    func serveRead(_ request: APIRequest, consistency: String) -> HTTPResponse {
        var response: HTTPResponse
        switch request.operation {
        case .getParameter(let name, let reveal):
            response = Render.parameter(state.parameters[name], name: name, revealSecret: reveal)
        case .listParameters(let prefix):
            response = Render.parameterList(state.parameters(withPrefix: prefix))
        case .domainRead(let query):
            response = DomainRender.query(query, in: state.domain)
        case .taskSecrets(let cluster, let instance, let task):
            // The values are never logged: they go to the client and nowhere else.
            response = Render.taskSecrets(state.taskSecrets(cluster: cluster, instance: instance, task: task))
        default:
            preconditionFailure("serveRead(_:) called with \(request.operation)")
        }
        response.headers += readHeaders(consistency: consistency)
        return response
    }

    /// `X-Gantry-Applied-Index`, `X-Gantry-Leader`, `X-Gantry-Last-Contact-Ms` and `X-Gantry-Consistency`.
    func readHeaders(consistency: String) -> [HTTPHeader] {
        [
            HTTPHeader(name: "X-Gantry-Applied-Index", value: String(state.appliedIndex)),
            HTTPHeader(name: "X-Gantry-Leader", value: knownLeader.map(String.init) ?? ""),
            HTTPHeader(name: "X-Gantry-Last-Contact-Ms", value: String(lastContactMilliseconds())),
            HTTPHeader(name: "X-Gantry-Consistency", value: consistency),
        ]
    }

    /// 0 on the leader, -1 if this node never heard from a leader, else the milliseconds since it did.
    func lastContactMilliseconds() -> Int64 {
        if role == .leader { return 0 }
        guard let contact = lastLeaderContact else { return -1 }
        return Clock.monotonicMilliseconds() - contact
    }
}

/// A new agent credential for instance `id`: 32 random bytes from the system generator, which on Linux reads
/// getrandom(2) (falling back to /dev/urandom) and is cryptographically secure; apply only reads it from the command.
func randomAgentCredential(_ id: String) -> String {
    var generator = SystemRandomNumberGenerator()
    var secret: [UInt8] = []
    while secret.count < AgentCredential.secretBytes {
        let word = generator.next() as UInt64
        for shift in stride(from: 0, to: 64, by: 8) { secret.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }
    return AgentCredential.make(instanceID: id, secret: secret)
}

/// 128 random bits as 32 hex digits: a resource id (the shell's randomness; apply only reads it from the command).
func randomIdentifier() -> String {
    var generator = SystemRandomNumberGenerator()
    return [generator.next() as UInt64, generator.next() as UInt64].map { value in
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }.joined()
}
