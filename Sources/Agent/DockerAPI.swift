import ClusterState
import Glibc
import HTTP

/// Calls to a Docker Engine API on a unix socket: Docker's, or Podman's compatible service. Each call opens its own
/// connection (a local connect costs microseconds), so the value is `Sendable` and any thread may use it.
package struct DockerAPI: Sendable {
    /// The engine's socket.
    package let socket: String
    /// The API version every path is prefixed with; 1.41 is served by Docker 20.10 and later and by Podman 3 and
    /// later.
    static let prefix = "/v1.41"

    /// An API on `socket`.
    package init(socket: String) {
        self.socket = socket
    }

    /// A response.
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// Sends one request; `path` is below the version prefix. Only a failure to talk to the engine throws.
    func call(
        _ method: String,
        _ path: String,
        json body: [UInt8]? = nil,
        timeoutMilliseconds: Int = 30_000
    ) throws(RuntimeError) -> Response {
        let client = HTTPClient(unixSocketPath: socket, timeoutMilliseconds: timeoutMilliseconds)
        defer { client.close() }
        var headers = [HTTPHeader(name: "Connection", value: "close")]
        if body != nil { headers.append(HTTPHeader(name: "Content-Type", value: "application/json")) }
        do {
            let response = try client.send(
                method: method,
                target: Self.prefix + path,
                headers: headers,
                body: body ?? []
            )
            return Response(status: response.status, body: response.body)
        } catch {
            throw RuntimeError("docker \(method) \(Self.route(path)): \(error)")
        }
    }

    /// Sends one request and checks its status is one of `expected`; otherwise throws with the engine's message.
    @discardableResult
    func expect(
        _ expected: Set<Int>,
        _ method: String,
        _ path: String,
        json body: [UInt8]? = nil,
        timeoutMilliseconds: Int = 30_000
    ) throws(RuntimeError) -> Response {
        let response = try call(method, path, json: body, timeoutMilliseconds: timeoutMilliseconds)
        guard expected.contains(response.status) else {
            throw RuntimeError(
                "docker \(method) \(Self.route(path)): \(response.status) \(Self.message(response.body))"
            )
        }
        return response
    }

    /// Whether the engine answers `/_ping`.
    package func ping() throws(RuntimeError) {
        try expect([200], "GET", "/_ping", timeoutMilliseconds: 5_000)
    }

    /// The path without its query, for messages.
    static func route(_ path: String) -> String {
        String(path.prefix { $0 != "?" })
    }

    /// The engine's error message (`{"message": …}`), or the body as text.
    static func message(_ body: [UInt8]) -> String {
        struct Failure: Decodable { var message: String }
        if let failure = try? CanonicalJSON.decode(Failure.self, from: body) { return failure.message }
        return String(decoding: body.prefix(300), as: UTF8.self)
    }

    /// Percent-encodes a query value.
    static func query(_ value: String) -> String { percentEncoded(value) }

    /// The payload of a non-TTY attach or logs stream: frames of an 8-byte header (stream, 3 zero bytes, big-endian
    /// length) and the bytes, concatenated. A body that does not frame is returned as it is (a TTY stream).
    static func demultiplex(_ body: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var position = 0
        while position < body.count {
            guard position + 8 <= body.count, body[position] <= 2, body[position + 1] == 0, body[position + 2] == 0,
                body[position + 3] == 0
            else { return position == 0 ? body : output }
            let length =
                Int(body[position + 4]) << 24 | Int(body[position + 5]) << 16 | Int(body[position + 6]) << 8
                | Int(body[position + 7])
            let end = min(body.count, position + 8 + length)
            output.append(contentsOf: body[(position + 8)..<end])
            position = end
        }
        return output
    }
}
