import Glibc
import HTTP
import Synchronization
import Testing

/// Real `gantry controller` processes on loopback ports with temporary data directories, for the multi-process
/// tests. Every process started is stopped by PID in `shutdown()` (and in `deinit` as a backstop).
final class ProcessCluster: @unchecked Sendable {
    // Unchecked: a cluster is driven by one test at a time; the only cross-thread use is the writer threads'
    // read-only access to `apiPorts` and `adminToken`, fixed before they start.

    struct Member {
        var id: UInt64
        var peerPort: UInt16
        var apiPort: UInt16
        var dataDirectory: String
        var pid: pid_t?
        var join: Bool
    }

    static let adminToken = "test-admin-token-0000001"
    static let readonlyToken = "test-readonly-token-00001"
    /// A join token (role agent): it can only register an instance.
    static let joinToken = "test-agent-join-token-001"
    static let clusterID = "test-cluster"

    let directory: String
    let binary: String
    var members: [UInt64: Member] = [:]
    var founding: [UInt64] = []
    let heartbeatMilliseconds: Int
    let electionMilliseconds: Int
    let requestTimeoutMilliseconds: Int
    /// Extra environment for every controller (e.g. a planted bug).
    var environment: [String] = []

    /// Creates `size` founding members (not started).
    init(
        size: Int,
        heartbeatMilliseconds: Int = 100,
        electionMilliseconds: Int = 1000,
        requestTimeoutMilliseconds: Int = 3000
    )
        throws
    {
        binary = try Self.locateBinary()
        var template = Array("/tmp/gantry-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw ClusterError("mkdtemp failed: errno \(errno)") }
        directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.electionMilliseconds = electionMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        try writeFile(
            "\(directory)/tokens.json",
            """
            {"tokens":[{"name":"admin","role":"admin","token":"\(Self.adminToken)"},
            {"name":"viewer","role":"readonly","token":"\(Self.readonlyToken)"},
            {"name":"join","role":"agent","token":"\(Self.joinToken)"}]}
            """
        )
        try writeFile("\(directory)/secret", "test-cluster-secret-0123456789")
        for index in 1...size {
            try addMember(UInt64(index), join: false)
            founding.append(UInt64(index))
        }
    }

    deinit {
        shutdown()
    }

    /// Registers member `id` with fresh ports (not started).
    func addMember(_ id: UInt64, join: Bool) throws {
        members[id] = Member(
            id: id,
            peerPort: try freePort(),
            apiPort: try freePort(),
            dataDirectory: "\(directory)/node\(id)",
            pid: nil,
            join: join
        )
    }

    /// The `--members` list of the founding members.
    var membersFlag: String {
        founding.map { "\($0)=127.0.0.1:\(members[$0]!.peerPort)" }.joined(separator: ",")
    }

    /// Starts (or restarts) member `id`.
    func start(_ id: UInt64, extra: [String] = []) throws {
        guard let member = members[id] else { throw ClusterError("no member \(id)") }
        precondition(member.pid == nil, "member \(id) is already running")
        var arguments = [
            binary, "controller",
            "--node-id", String(id),
            "--cluster-id", Self.clusterID,
            "--data-dir", member.dataDirectory,
            "--peer-address", "127.0.0.1:\(member.peerPort)",
            "--api-address", "127.0.0.1:\(member.apiPort)",
            "--members", membersFlag,
            "--heartbeat-ms", String(heartbeatMilliseconds),
            "--election-ms", String(electionMilliseconds),
            "--request-timeout-ms", String(requestTimeoutMilliseconds),
            "--tokens-file", "\(directory)/tokens.json",
            "--peer-secret-file", "\(directory)/secret",
        ]
        if member.join { arguments.append("--join") }
        arguments += extra
        members[id]!.pid = try spawn(arguments, log: "\(directory)/node\(id).log", environment: environment)
    }

    func startAll() throws {
        for id in members.keys.sorted() { try start(id) }
    }

    /// Sends `signal` to member `id`; SIGKILL also reaps it.
    func signal(_ id: UInt64, _ number: Int32) {
        guard let pid = members[id]?.pid else { return }
        kill(pid, number)
        if number == SIGKILL || number == SIGTERM {
            if number == SIGTERM { kill(pid, SIGCONT) }
            reap(pid)
            members[id]!.pid = nil
        }
    }

    func isRunning(_ id: UInt64) -> Bool { members[id]?.pid != nil }

    /// Kills every process but keeps the directory.
    func shutdownProcesses() {
        for id in members.keys where members[id]!.pid != nil { signal(id, SIGKILL) }
    }

    /// Stops every process (SIGCONT first, in case a test stopped one, then SIGKILL) and removes the directory
    /// unless GANTRY_KEEP_TEST_DIRS is set.
    func shutdown() {
        for id in members.keys {
            if let pid = members[id]!.pid {
                kill(pid, SIGCONT)
                kill(pid, SIGKILL)
                reap(pid)
                members[id]!.pid = nil
            }
        }
        if getenv("GANTRY_KEEP_TEST_DIRS") == nil {
            _ = try? run(["/bin/rm", "-rf", directory], timeoutMilliseconds: 30_000)
        }
    }

    /// The last lines of a member's log, for failure messages.
    func logTail(_ id: UInt64, lines: Int = 30) -> String {
        guard let bytes = try? readWholeFile("\(directory)/node\(id).log") else { return "(no log)" }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    // MARK: HTTP

    /// One request to member `id`'s API; nil when it cannot be reached.
    func request(
        _ id: UInt64,
        _ method: String,
        _ target: String,
        body: String = "",
        token: String? = ProcessCluster.adminToken,
        headers: [HTTPHeader] = [],
        timeoutMilliseconds: Int = 5000
    ) -> HTTPClientResponse? {
        guard let port = members[id]?.apiPort else { return nil }
        let client = HTTPClient(host: "127.0.0.1", port: port, timeoutMilliseconds: timeoutMilliseconds)
        defer { client.close() }
        var all = headers
        if let token { all.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)")) }
        return try? client.send(method: method, target: target, headers: all, body: Array(body.utf8))
    }

    /// `GET /v1/status` of member `id`, parsed loosely.
    func status(_ id: UInt64) -> (role: String, leader: UInt64, term: UInt64, applied: UInt64)? {
        guard let response = request(id, "GET", "/v1/status", timeoutMilliseconds: 2000), response.status == 200 else {
            return nil
        }
        let text = response.bodyText
        return (
            role: jsonString(text, "role") ?? "?",
            leader: UInt64(jsonNumber(text, "leader") ?? "0") ?? 0,
            term: UInt64(jsonNumber(text, "term") ?? "0") ?? 0,
            applied: UInt64(jsonNumber(text, "appliedIndex") ?? "0") ?? 0
        )
    }

    /// Waits until the running members in `among` agree on one leader that says it leads; returns it.
    func waitForLeader(among: [UInt64]? = nil, timeoutMilliseconds: Int = 20_000) -> UInt64? {
        let ids = among ?? members.keys.filter { isRunning($0) }.sorted()
        return poll(timeoutMilliseconds: timeoutMilliseconds) { () -> UInt64? in
            let statuses = ids.compactMap { self.status($0) }
            guard statuses.count == ids.count, let leader = statuses.first?.leader, leader != 0,
                statuses.allSatisfy({ $0.leader == leader }), self.status(leader)?.role == "leader"
            else { return nil }
            return leader
        }
    }

    /// PUT a parameter through member `id`; returns the status (nil: unreachable).
    func put(_ id: UInt64, _ name: String, _ value: String, clientToken: String? = nil) -> Int? {
        var headers: [HTTPHeader] = []
        if let clientToken { headers.append(HTTPHeader(name: "X-Gantry-Client-Token", value: clientToken)) }
        return request(id, "PUT", "/v1/parameters/\(name)", body: "{\"value\":\"\(value)\"}", headers: headers)?.status
    }

    /// The acknowledged sequence numbers (written as `seq/<n>`) that member `id` does not hold, read stale after it
    /// has applied at least `index`. Nil when the node could not be read.
    func missingAcknowledged(_ id: UInt64, _ written: [Int], appliedAtLeast index: UInt64 = 0) -> [Int]? {
        guard poll(timeoutMilliseconds: 20_000, { (self.status(id)?.applied ?? 0) >= index ? true : nil }) == true,
            let response = request(id, "GET", "/v1/parameters?prefix=seq/&consistency=stale"), response.status == 200
        else { return nil }
        let listed = response.bodyText
        return written.filter { find("\"name\":\"seq/\($0)\"", in: listed) == nil }
    }

    /// The value of a parameter read through member `id` (nil: not 200).
    func get(_ id: UInt64, _ name: String, stale: Bool = false) -> String? {
        let target = "/v1/parameters/\(name)" + (stale ? "?consistency=stale" : "")
        guard let response = request(id, "GET", target), response.status == 200 else { return nil }
        return jsonString(response.bodyText, "value")
    }
}

/// A harness failure.
struct ClusterError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Calls `body` every 50 ms until it returns non-nil or the time is up.
func poll<T>(timeoutMilliseconds: Int, _ body: () -> T?) -> T? {
    let deadline = monotonicMilliseconds() + Int64(timeoutMilliseconds)
    while true {
        if let value = body() { return value }
        if monotonicMilliseconds() >= deadline { return nil }
        usleep(50_000)
    }
}

func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// The string value of `"key":"..."` in a flat JSON text (enough for these tests' simple bodies).
func jsonString(_ text: String, _ key: String) -> String? {
    guard let start = find("\"\(key)\":\"", in: text) else { return nil }
    let rest = text[start...]
    guard let end = rest.firstIndex(of: "\"") else { return nil }
    return String(rest[..<end])
}

/// The number after `"key":` in a flat JSON text.
func jsonNumber(_ text: String, _ key: String) -> String? {
    guard let start = find("\"\(key)\":", in: text) else { return nil }
    let digits = text[start...].prefix { $0.isNumber || $0 == "-" }
    return digits.isEmpty ? nil : String(digits)
}

/// The index just past the first occurrence of `needle` in `text`.
func find(_ needle: String, in text: String) -> String.Index? {
    var index = text.startIndex
    while index < text.endIndex {
        if text[index...].hasPrefix(needle) { return text.index(index, offsetBy: needle.count) }
        index = text.index(after: index)
    }
    return nil
}
