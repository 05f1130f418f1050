import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// A system under test over HTTP/1.1: how to write a key and how to ask a node who leads.
enum LoadSystem: String, Sendable {
    /// Gantry's admin API: `PUT /v1/parameters/{name}` with `{"value":"..."}`, `GET /v1/status`.
    case gantry
    /// etcd 3.4's grpc-gateway: `POST /v3/kv/put` with base64 key and value, `POST /v3/maintenance/status`.
    case etcd

    /// The system named by `--system`, or a usage error.
    init(options: BenchOptions) {
        let name = options.required("system")
        guard let system = LoadSystem(rawValue: name) else {
            options.fail("--system must be gantry or etcd, not '\(name)'")
        }
        self = system
    }
}

/// Every key's write request, built once and shared read-only by the clients so that the load generator (which
/// shares the machine with the cluster) spends as little CPU as possible per write.
struct WriteRequests: Sendable {
    /// PUT for Gantry, POST for etcd.
    let method: String
    /// The request target for each key.
    let targets: [String]
    /// The body for each key (Gantry's body does not depend on the key, etcd's carries it).
    let bodies: [[UInt8]]
    /// Authorization and content type.
    let headers: [HTTPHeader]

    /// Requests writing `valueBytes` bytes of ASCII letters to each of `keys` keys named `bench/k<number>`.
    ///
    /// Both systems store the same value bytes: Gantry as a JSON string, etcd base64-encoded in the gateway's JSON
    /// (so etcd's request bodies are a third larger on the wire).
    init(system: LoadSystem, keys: Int, valueBytes: Int, token: String?) {
        var letters = SplitMix64(seed: 42)
        let value = (0..<valueBytes).map { _ in UInt8(ascii: "a") + UInt8(letters.next() % 26) }
        let names = (0..<keys).map { "bench/k\($0)" }
        var headers = [HTTPHeader(name: "Content-Type", value: "application/json")]
        if let token {
            headers.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)"))
        }
        self.headers = headers
        switch system {
        case .gantry:
            method = "PUT"
            targets = names.map { "/v1/parameters/\($0)" }
            let body = Array("{\"value\":\"".utf8) + value + Array("\"}".utf8)
            bodies = Array(repeating: body, count: keys)
        case .etcd:
            method = "POST"
            targets = Array(repeating: "/v3/kv/put", count: keys)
            let encodedValue = base64Encoded(value)
            bodies = names.map {
                Array("{\"key\":\"\(base64Encoded(Array($0.utf8)))\",\"value\":\"\(encodedValue)\"}".utf8)
            }
        }
    }

    /// Sends the write for `key` on `client`; both systems acknowledge a durable, committed write with HTTP 200.
    func write(key: Int, on client: HTTPClient) throws(HTTPClientError) -> HTTPClientResponse {
        try client.send(method: method, target: targets[key], headers: headers, body: bodies[key])
    }
}

/// One node's answer to a status request.
struct NodeView: Sendable, Equatable {
    /// The node says it is the leader.
    var isLeader: Bool
    /// The node knows of a leader (itself or another).
    var knowsLeader: Bool
}

extension LoadSystem {
    /// Asks the node at `endpoint` for its role; nil when it does not answer with 200 within `timeoutMilliseconds`.
    func probe(_ endpoint: String, token: String?, timeoutMilliseconds: Int = 1_000) -> NodeView? {
        guard let client = try? HTTPClient(address: endpoint, timeoutMilliseconds: timeoutMilliseconds) else {
            return nil
        }
        defer { client.close() }
        var headers: [HTTPHeader] = []
        if let token {
            headers.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)"))
        }
        switch self {
        case .gantry:
            guard let response = try? client.send(method: "GET", target: "/v1/status", headers: headers),
                response.status == 200
            else { return nil }
            let text = response.bodyText
            let leader = jsonField("leader", in: text) ?? "0"
            return NodeView(isLeader: jsonField("role", in: text) == "leader", knowsLeader: leader != "0")
        case .etcd:
            headers.append(HTTPHeader(name: "Content-Type", value: "application/json"))
            guard
                let response = try? client.send(
                    method: "POST",
                    target: "/v3/maintenance/status",
                    headers: headers,
                    body: Array("{}".utf8)
                ),
                response.status == 200
            else { return nil }
            let text = response.bodyText
            let leader = jsonField("leader", in: text) ?? "0"
            let member = jsonField("member_id", in: text)
            return NodeView(isLeader: leader != "0" && leader == member, knowsLeader: leader != "0")
        }
    }

    /// The index in `endpoints` of the node that says it leads, polling every 50 ms for up to `timeoutSeconds`;
    /// nil if none does by then.
    func findLeader(_ endpoints: [String], token: String?, timeoutSeconds: Double) -> Int? {
        let deadline = monotonicNanoseconds() + Int64(timeoutSeconds * 1e9)
        repeat {
            for (index, endpoint) in endpoints.enumerated() where probe(endpoint, token: token)?.isLeader == true {
                return index
            }
            sleepMilliseconds(50)
        } while monotonicNanoseconds() < deadline
        return nil
    }
}
