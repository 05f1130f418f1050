// The workloads: registers on parameters (writes of unique values, compare-and-set, linearizable reads) and a set
// (uniquely named parameters created once, read back from every node at the end).
import ChaosCheck
import HTTP
import Synchronization

/// What the register clients saw, in order of completion.
final class Recorder: Sendable {
    struct Entry: Sendable {
        var key: String
        var operation: HistoryOperation<RegisterInput, RegisterOutput>
        var node: Int
        var ok: Bool
        /// The Raft index the answer carried: a write's `index`, a read's `X-Gantry-Applied-Index`.
        var index: UInt64?
    }

    let entries = Mutex<[Entry]>([])
    /// Every attempt by a client (answered or not), for availability: when it was invoked and whether it was
    /// answered.
    let attempts = Mutex<[(invoked: UInt64, answered: Bool)]>([])
    let nextID = Atomic<Int>(0)

    func attempted(_ invoked: UInt64, answered: Bool) { attempts.withLock { $0.append((invoked, answered)) } }

    func id() -> Int { nextID.add(1, ordering: .relaxed).newValue }

    func record(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    /// Records an operation; without an `output` it is open-ended (its outcome unknown).
    func record(
        key: String,
        client: Int,
        id: Int,
        input: RegisterInput,
        output: RegisterOutput?,
        invokedAt: UInt64,
        returnedAt: UInt64,
        node: Int,
        index: UInt64?
    ) {
        let operation = HistoryOperation(
            id: id,
            client: client,
            input: input,
            output: output,
            invokedAt: invokedAt,
            returnedAt: output == nil ? nil : returnedAt
        )
        record(Entry(key: key, operation: operation, node: node, ok: output != nil, index: index))
    }
}

/// A value in a register read's answer, with its version; nil value: the parameter does not exist (404).
struct ReadResult {
    var value: UInt64?
    var version: UInt64
    var index: UInt64?
}

func readRegister(_ cluster: Cluster, node: Int, key: String) -> ReadResult? {
    guard let response = cluster.request(node, "GET", "/v1/parameters/chaos/\(key)") else { return nil }
    let index = response.header("X-Gantry-Applied-Index").flatMap { UInt64($0) }
    if response.status == 404 { return ReadResult(value: nil, version: 0, index: index) }
    // Without its version the read is dropped: a compare-and-set must never expect a version it did not see.
    guard response.status == 200, let text = string(response.bodyText, "value"), let value = UInt64(text),
        let version = number(response.bodyText, "version")
    else { return nil }
    return ReadResult(value: value, version: version, index: index)
}

/// One register client: writes unique values, compare-and-sets and reads, at random nodes, until `deadline`.
func runRegisterClient(_ client: Int, _ cluster: Cluster, _ recorder: Recorder, deadline: UInt64) {
    let options = cluster.options
    var random = Random(state: options.seed &* 1_000_003 &+ UInt64(client))
    let key = "k\(client % options.keys)"
    var written: UInt64 = 0
    /// The last value and version this client read: a compare-and-set expects them.
    var seen: (value: UInt64?, version: UInt64) = (nil, 0)
    while nowNanoseconds() < deadline {
        // A little think time: enough operations to see every fault, few enough to check quickly.
        sleepMilliseconds(2 + random.below(8))
        let node = 1 + random.below(options.nodes)
        let roll = random.below(10)
        let id = recorder.id()
        let invoked = nowNanoseconds()
        if roll < 6 {
            written += 1
            let value = UInt64(client) << 32 | written
            // Values are unique and never deleted, so a version names exactly one value: compare-and-set on the
            // version the client saw with a value is compare-and-set on that value.
            let cas = roll >= 4
            let target = "/v1/parameters/chaos/\(key)" + (cas ? "?cas=\(seen.version)" : "")
            let body = #"{"value":"\#(value)"}"#
            let token = "chaos-\(options.runID)-\(client)-\(written)"
            func definite(_ status: Int?) -> Bool { status == 200 || (cas && status == 409) }
            var (response, sent) = cluster.attempt(node, "PUT", target, body: body, clientToken: token)
            recorder.attempted(invoked, answered: definite(response?.status))
            // Never sent (the node is down): it cannot have taken effect, so it is not part of the history.
            guard sent else { continue }
            // No definite answer: the client retries the same request under the same client token, as the API asks
            // (it applies at most once; a retry of one that applied gets the first one's answer), until an answer
            // comes or the run ends. The operation spans from the first attempt to the answer.
            var answeredBy = node
            while !definite(response?.status) && nowNanoseconds() < deadline {
                sleepMilliseconds(100)
                answeredBy = 1 + random.below(options.nodes)
                let retried = nowNanoseconds()
                response = cluster.attempt(answeredBy, "PUT", target, body: body, clientToken: token).response
                recorder.attempted(retried, answered: definite(response?.status))
            }
            let returned = nowNanoseconds()
            let status = response?.status
            var output: RegisterOutput?
            if status == 200 {
                output = cas ? .compareAndSet(succeeded: true) : .written
            } else if cas && status == 409 {
                output = .compareAndSet(succeeded: false)
            }
            // Anything else (a timeout, 503, no leader) may or may not have applied: open-ended.
            recorder.record(
                key: key,
                client: client,
                id: id,
                input: cas ? .compareAndSet(expected: seen.value, new: value) : .write(value),
                output: output,
                invokedAt: invoked,
                returnedAt: returned,
                node: answeredBy,
                index: status == 200 ? response.flatMap { number($0.bodyText, "index") } : nil
            )
        } else {
            let result = readRegister(cluster, node: node, key: key)
            let returned = nowNanoseconds()
            recorder.attempted(invoked, answered: result != nil)
            // A read with no answer has no effect: it is left out of the history.
            guard let result else { continue }
            seen = (result.value, result.version)
            recorder.record(
                key: key,
                client: client,
                id: id,
                input: .read,
                output: .read(result.value),
                invokedAt: invoked,
                returnedAt: returned,
                node: node,
                index: result.index
            )
        }
    }
}

/// The set workload's record: every create, with its outcome.
final class SetRecorder: Sendable {
    let creates = Mutex<[String: CreateOutcome]>([:])
}

/// One set client: creates uniquely named parameters under `chaos/set/` until `deadline`.
func runSetClient(_ client: Int, _ cluster: Cluster, _ recorder: SetRecorder, deadline: UInt64) {
    let options = cluster.options
    var random = Random(state: options.seed &* 2_000_003 &+ UInt64(client))
    var created = 0
    while nowNanoseconds() < deadline {
        sleepMilliseconds(10 + random.below(20))
        created += 1
        let name = "chaos/set/c\(client)-\(created)"
        let node = 1 + random.below(options.nodes)
        // cas=0: only if it does not exist yet; retried under one client token until a definite answer (or the
        // end of the run), so that few creates stay of unknown outcome.
        let token = "chaos-set-\(options.runID)-\(client)-\(created)"
        var (response, sent) = cluster.attempt(
            node,
            "PUT",
            "/v1/parameters/\(name)?cas=0",
            body: #"{"value":"1"}"#,
            clientToken: token
        )
        guard sent else { continue }
        while response?.status != 200 && nowNanoseconds() < deadline {
            sleepMilliseconds(100)
            response =
                cluster.attempt(
                    1 + random.below(options.nodes),
                    "PUT",
                    "/v1/parameters/\(name)?cas=0",
                    body: #"{"value":"1"}"#,
                    clientToken: token
                ).response
        }
        let outcome: CreateOutcome =
            response?.status == 200
            ? .acknowledged : (response.map { [400, 404].contains($0.status) } == true ? .failed : .unknown)
        recorder.creates.withLock { $0[name] = outcome }
    }
}

/// The names under `chaos/set/` that node `node` holds, read linearizably, and the index it answered at; nil when
/// it does not answer.
func readSet(_ cluster: Cluster, node: Int) -> (names: Set<String>, index: UInt64)? {
    guard let response = cluster.request(node, "GET", "/v1/parameters?prefix=chaos/set/", timeout: 5_000),
        response.status == 200, let index = response.header("X-Gantry-Applied-Index").flatMap({ UInt64($0) })
    else { return nil }
    var names = Set<String>()
    var rest = Substring(response.bodyText)
    while let range = rest.firstRange(of: #""name":""#) {
        let name = rest[range.upperBound...].prefix { $0 != "\"" }
        names.insert(String(name))
        rest = rest[range.upperBound...].dropFirst(name.count)
    }
    return (names, index)
}
