import HTTP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `gantry-bench http-load`: closed-loop write load against a Gantry or etcd cluster over HTTP/1.1.
///
/// Each client is a dedicated thread with one keep-alive connection that writes a fixed value to a random key,
/// waits for the acknowledgement, and writes again. Writes that complete during the first `--warmup-seconds` are
/// not recorded; throughput is the number of acknowledged writes completing in the measured window divided by its
/// length, and latencies are those writes' send-to-acknowledgement times.
enum HTTPLoad {
    /// What one client saw.
    struct ClientResult: Sendable {
        /// Latency of each acknowledged write completing in the measured window, in nanoseconds.
        var latencies: [Int64] = []
        /// Failed writes (non-200 answers and transport errors) over the whole run, warm-up included.
        var errors = 0
        /// The first failure, to show the user what went wrong.
        var firstError: String?
    }

    /// Runs the benchmark described by `options` and prints one line (text, or JSON with `--json`).
    static func run(_ options: BenchOptions) {
        let system = LoadSystem(options: options)
        let endpoints = options.list("endpoints")
        let clients = options.integer("clients", default: 1)
        let duration = options.integer("duration-seconds", default: 10)
        let warmup = options.integer("warmup-seconds", default: 2, minimum: 0)
        let valueBytes = options.integer("value-bytes", default: 1_024)
        let keys = options.integer("keys", default: 1_000)
        let timeout = options.integer("request-timeout-ms", default: 10_000)
        let token = options.text("token")
        let mode = options.text("target") ?? "leader"
        if system == .gantry && token == nil {
            options.fail("--system gantry needs --token (an admin or operator token)")
        }
        let targets: [String]
        switch mode {
        case "leader":
            guard let leader = system.findLeader(endpoints, token: token, timeoutSeconds: 30) else {
                printError("gantry-bench http-load: no node of \(endpoints.joined(separator: ",")) leads after 30 s")
                exit(1)
            }
            targets = [endpoints[leader]]
        case "all":
            targets = endpoints
        default:
            options.fail("--target must be leader or all, not '\(mode)'")
        }

        let requests = WriteRequests(system: system, keys: keys, valueBytes: valueBytes, token: token)
        let start = monotonicNanoseconds()
        let window = (
            from: start + Int64(warmup) * 1_000_000_000, until: start + Int64(warmup + duration) * 1_000_000_000
        )
        let results = Mutex<[ClientResult]>([])
        let threads = (0..<clients).map { index in
            BenchThread {
                let result = runClient(
                    index: index,
                    endpoint: targets[index % targets.count],
                    requests: requests,
                    window: window,
                    timeoutMilliseconds: timeout
                )
                results.withLock { $0.append(result) }
            }
        }
        for thread in threads {
            thread.join()
        }
        let all = results.withLock { $0 }
        let latencies = all.flatMap(\.latencies)
        let errors = all.reduce(0) { $0 + $1.errors }
        let summary = LatencySummary(nanoseconds: latencies)
        let throughput = Double(latencies.count) / Double(duration)
        let targetText = targets.joined(separator: ",")
        let line =
            "http-load \(system.rawValue): \(clients) clients, \(duration) s (+\(warmup) s warm-up), "
            + "\(valueBytes) B values, \(keys) keys, target \(targetText) (\(mode)): "
            + "\(decimal(throughput, places: 1)) writes/s, p50 \(decimal(summary.p50, places: 2)) ms, "
            + "p99 \(decimal(summary.p99, places: 2)) ms, max \(decimal(summary.max, places: 2)) ms, errors \(errors)"
        if let firstError = all.compactMap(\.firstError).first {
            printError("gantry-bench http-load: first error: \(firstError)")
        }
        guard options.flag("json") else {
            print(line)
            return
        }
        printError(line)
        print(
            "{\"benchmark\":\"http-load\",\"system\":\"\(system.rawValue)\",\"clients\":\(clients),"
                + "\"durationSeconds\":\(duration),\"warmupSeconds\":\(warmup),\"valueBytes\":\(valueBytes),"
                + "\"keys\":\(keys),\"target\":\"\(mode)\",\"endpoints\":\"\(targetText)\","
                + "\"writes\":\(latencies.count),\"writesPerSecond\":\(decimal(throughput, places: 1)),"
                + "\"p50Ms\":\(decimal(summary.p50, places: 3)),\"p99Ms\":\(decimal(summary.p99, places: 3)),"
                + "\"maxMs\":\(decimal(summary.max, places: 3)),\"meanMs\":\(decimal(summary.mean, places: 3)),"
                + "\"errors\":\(errors)}"
        )
    }

    /// One client: sequential writes to random keys until the window closes. A failed write is counted and followed
    /// by a 10 ms pause, so that a cluster without a leader is not flooded.
    static func runClient(
        index: Int,
        endpoint: String,
        requests: WriteRequests,
        window: (from: Int64, until: Int64),
        timeoutMilliseconds: Int
    ) -> ClientResult {
        var result = ClientResult()
        result.latencies.reserveCapacity(1 << 16)
        var generator = SplitMix64(seed: UInt64(index + 1) &* 0x2545_F491_4F6C_DD1D ^ UInt64(monotonicNanoseconds()))
        let client: HTTPClient
        do {
            client = try HTTPClient(address: endpoint, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            result.errors = 1
            result.firstError = "\(endpoint): \(error)"
            return result
        }
        defer { client.close() }
        while true {
            let began = monotonicNanoseconds()
            guard began < window.until else { break }
            let key = Int.random(in: 0..<requests.targets.count, using: &generator)
            let failure: String
            do {
                let response = try requests.write(key: key, on: client)
                let ended = monotonicNanoseconds()
                if response.status == 200 {
                    if ended >= window.from && ended <= window.until {
                        result.latencies.append(ended - began)
                    }
                    continue
                }
                failure = "HTTP \(response.status): \(response.bodyText.prefix(200))"
            } catch {
                failure = "\(error)"
            }
            result.errors += 1
            if result.firstError == nil {
                result.firstError = "\(endpoint): \(failure)"
            }
            sleepMilliseconds(10)
        }
        return result
    }
}
