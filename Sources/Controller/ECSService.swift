import API
import HTTP
import Synchronization

/// Serves the ECS face (`POST /` with `X-Amz-Target`): authenticates the call (AWS Signature Version 4), asks the
/// gateway for its plan, hands each REST request of the plan to the node loop exactly as a REST client's request
/// would be (so forwarding to the leader, read consistency and validation are the REST face's), and answers once
/// every one of them has.
struct ECSService: Sendable {
    let tokens: TokenTable
    let context: ECSGateway.Context
    let inbox: Inbox
    let requests: RequestCounter
    /// Authenticates a call: its signer's name and role, or the ECS error to answer.
    let authenticate: @Sendable (HTTPRequest) -> Result<(name: String, role: Role), ECSError>

    func serve(_ http: HTTPRequest, respond: @escaping Reply) {
        let operation = (try? ECSGateway.operation(http).get()) ?? "unknown"
        let route = "ECS \(operation)"
        let reply: Reply = { response in
            requests.count(route: route, status: response.status)
            respond(response)
        }
        let principal: (name: String, role: Role)
        switch authenticate(http) {
        case .success(let caller): principal = caller
        case .failure(let error):
            reply(error.response)
            return
        }
        let plan: ECSGateway.Plan
        switch ECSGateway.plan(http, principal: principal, context: context) {
        case .success(let made): plan = made
        case .failure(let error):
            reply(error.response)
            return
        }
        guard !plan.requests.isEmpty else {
            reply(plan.render([]))
            return
        }
        let collector = Collector(count: plan.requests.count) { responses in reply(plan.render(responses)) }
        for (position, request) in plan.requests.enumerated() {
            switch Router.route(request, tokens: tokens, principal: principal) {
            case .failure(let error):
                collector.deliver(position, error.response)
            case .success(let routed):
                inbox.post(
                    .request(routed, request, forwardedFrom: nil, reply: { collector.deliver(position, $0) })
                )
            }
        }
    }

    /// Gathers the answers of a plan's requests, in order, and renders once the last arrives.
    final class Collector: Sendable {
        let answers: Mutex<[HTTPResponse?]>
        let remaining: Atomic<Int>
        let done: @Sendable ([HTTPResponse]) -> Void

        init(count: Int, done: @escaping @Sendable ([HTTPResponse]) -> Void) {
            answers = Mutex([HTTPResponse?](repeating: nil, count: count))
            remaining = Atomic(count)
            self.done = done
        }

        func deliver(_ position: Int, _ response: HTTPResponse) {
            answers.withLock { $0[position] = response }
            if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                done(answers.withLock { $0.map { $0! } })
            }
        }
    }
}
