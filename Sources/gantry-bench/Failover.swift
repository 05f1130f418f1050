import HTTP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `gantry-bench failover`: how long a cluster stops acknowledging writes when its leader is killed.
///
/// A steady closed-loop write load runs throughout (`--clients` threads, spread over every endpoint, each moving
/// to the next endpoint after any failure, so a write is acknowledged by whichever node can). Each round finds the
/// leader, reads its command line from `/proc`, `kill -9`s it and measures the gap from the kill to the first
/// acknowledged write that was sent after the leader was confirmed dead (so no answer already on its way from the
/// old leader counts). It then restarts the node with the same command line, working directory and log file,
/// records the new PID in the node's PID file, waits until the node answers and knows a leader and the cluster
/// has one, and pauses.
///
/// `--fault stop` freezes the leader with SIGSTOP instead, and kills it only after the gap is measured: its sockets
/// stay open, so the followers must notice the silence through their election timeout, as after a machine crash or
/// a network partition. A killed process's sockets are closed by the kernel at once, which a node may notice sooner.
enum Failover {
    /// State shared by the load threads and the orchestrating thread.
    final class LoadState: Sendable {
        /// Set to stop the load.
        let stopping = Atomic<Bool>(false)
        /// Acknowledged writes so far.
        let successes = Atomic<Int>(0)
        /// Failed writes so far (expected while there is no leader).
        let errors = Atomic<Int>(0)
        /// Monotonic time after which a write's start makes its acknowledgement count for the current round; 0
        /// between rounds.
        let countFrom = Atomic<Int64>(0)
        /// The earliest acknowledgement time of a counted write this round; 0 until there is one.
        /// Invariant: only lowered while `countFrom` is non-zero.
        let firstAcknowledged = Atomic<Int64>(0)

        /// Records an acknowledged write sent at `began` and acknowledged at `ended`.
        func acknowledged(began: Int64, ended: Int64) {
            successes.add(1, ordering: .relaxed)
            let from = countFrom.load(ordering: .acquiring)
            guard from != 0 && began > from else { return }
            var current = firstAcknowledged.load(ordering: .relaxed)
            while current == 0 || ended < current {
                let (exchanged, original) = firstAcknowledged.compareExchange(
                    expected: current,
                    desired: ended,
                    ordering: .acquiringAndReleasing
                )
                if exchanged { break }
                current = original
            }
        }
    }

    /// One kill.
    struct Round {
        /// The killed node's endpoint.
        var endpoint: String
        /// From the kill to the first acknowledged write, in milliseconds.
        var gapMilliseconds: Double
        /// From the restart to the node knowing a leader, in milliseconds.
        var rejoinMilliseconds: Double
    }

    /// Runs the benchmark described by `options`.
    static func run(_ options: BenchOptions) {
        let system = LoadSystem(options: options)
        let endpoints = options.list("endpoints")
        let pidFiles = options.list("pid-files")
        let kills = options.integer("kills", default: 20)
        let clients = options.integer("clients", default: 4)
        let valueBytes = options.integer("value-bytes", default: 1_024)
        let keys = options.integer("keys", default: 1_000)
        let timeout = options.integer("request-timeout-ms", default: 250)
        let pause = options.integer("pause-ms", default: 1_000, minimum: 0)
        let readySeconds = Double(options.integer("ready-timeout-seconds", default: 60))
        let token = options.text("token")
        let fault = options.text("fault") ?? "kill"
        guard fault == "kill" || fault == "stop" else {
            options.fail("--fault must be kill or stop, not '\(fault)'")
        }
        let freeze = fault == "stop"
        guard pidFiles.count == endpoints.count else {
            options.fail("--pid-files must list one PID file per endpoint, in the same order")
        }
        if system == .gantry && token == nil {
            options.fail("--system gantry needs --token (an admin or operator token)")
        }

        let requests = WriteRequests(system: system, keys: keys, valueBytes: valueBytes, token: token)
        let state = LoadState()
        let threads = (0..<clients).map { index in
            BenchThread {
                runClient(index: index, endpoints: endpoints, requests: requests, state: state, timeout: timeout)
            }
        }
        /// Stops the load, then reports `message` and exits.
        func abort(_ message: String) -> Never {
            state.stopping.store(true, ordering: .relaxed)
            for thread in threads { thread.join() }
            printError("gantry-bench failover \(system.rawValue): \(message)")
            exit(1)
        }

        var rounds: [Round] = []
        for round in 1...kills {
            guard let leader = system.findLeader(endpoints, token: token, timeoutSeconds: readySeconds) else {
                abort(
                    "round \(round): no leader among \(endpoints.joined(separator: ",")) after \(Int(readySeconds)) s"
                )
            }
            guard let pid = NodeProcess.readPID(pidFiles[leader]), NodeProcess.isAlive(pid),
                let command = NodeCommand.capture(pid: pid)
            else {
                abort("round \(round): the leader at \(endpoints[leader]) has no live process in \(pidFiles[leader])")
            }
            // Kill only while writes are flowing, so the gap is the failover and not a leftover stall.
            let flowing = state.successes.load(ordering: .relaxed)
            guard waitUntil(seconds: readySeconds, { state.successes.load(ordering: .relaxed) > flowing + clients })
            else {
                abort("round \(round): no writes acknowledged for \(Int(readySeconds)) s before the kill")
            }

            state.firstAcknowledged.store(0, ordering: .relaxed)
            let killedAt = monotonicNanoseconds()
            kill(pid, freeze ? SIGSTOP : SIGKILL)
            let silenced =
                freeze
                ? NodeProcess.waitUntilStopped(pid, timeoutMilliseconds: 5_000)
                : NodeProcess.waitUntilDead(pid, timeoutMilliseconds: 5_000)
            guard silenced else {
                kill(pid, SIGKILL)
                abort("round \(round): pid \(pid) still running 5 s after \(freeze ? "SIGSTOP" : "SIGKILL")")
            }
            state.countFrom.store(monotonicNanoseconds(), ordering: .releasing)
            guard waitUntil(seconds: readySeconds, { state.firstAcknowledged.load(ordering: .acquiring) != 0 }) else {
                kill(pid, SIGKILL)
                abort("round \(round): no write acknowledged within \(Int(readySeconds)) s of stopping the leader")
            }
            let gap = Double(state.firstAcknowledged.load(ordering: .acquiring) - killedAt) / 1e6
            state.countFrom.store(0, ordering: .releasing)
            if freeze {
                // The frozen node is killed only now, after the new leader took over, so that its sockets stayed
                // open (no FIN or RST for the followers to notice) for the whole gap.
                kill(pid, SIGKILL)
                guard NodeProcess.waitUntilDead(pid, timeoutMilliseconds: 5_000) else {
                    abort("round \(round): pid \(pid) still alive 5 s after SIGKILL")
                }
            }

            let restartedAt = monotonicNanoseconds()
            var newPID: pid_t = 0
            var starts = 0
            // A node that exits at once (say, its port not yet released by the killed process) is started again,
            // up to five times.
            let rejoined = waitUntil(seconds: readySeconds, every: 20) {
                if newPID == 0 || !NodeProcess.isAlive(newPID) {
                    guard starts < 5 else { return false }
                    if starts > 0 { sleepMilliseconds(200) }
                    starts += 1
                    switch command.spawn() {
                    case .success(let spawned): newPID = spawned
                    case .failure(let error): abort("round \(round): \(error.message)")
                    }
                    guard NodeProcess.writePID(newPID, to: pidFiles[leader]) else {
                        kill(newPID, SIGKILL)
                        abort("round \(round): cannot write \(pidFiles[leader])")
                    }
                    return false
                }
                return system.probe(endpoints[leader], token: token)?.knowsLeader == true
            }
            guard rejoined else {
                abort(
                    "round \(round): the restarted node at \(endpoints[leader]) (pid \(newPID), \(starts) starts) "
                        + "did not rejoin; see its log"
                )
            }
            let rejoin = Double(monotonicNanoseconds() - restartedAt) / 1e6
            guard system.findLeader(endpoints, token: token, timeoutSeconds: readySeconds) != nil else {
                abort("round \(round): no leader after the restart")
            }
            rounds.append(Round(endpoint: endpoints[leader], gapMilliseconds: gap, rejoinMilliseconds: rejoin))
            let action = freeze ? "froze" : "killed"
            let retries = starts > 1 ? " after \(starts) starts" : ""
            printError(
                "failover \(system.rawValue): round \(round)/\(kills): \(action) the leader at \(endpoints[leader]) "
                    + "(pid \(pid)); first write acknowledged \(decimal(gap, places: 1)) ms later; restarted as pid "
                    + "\(newPID)\(retries), rejoined in \(decimal(rejoin, places: 0)) ms"
            )
            sleepMilliseconds(pause)
        }
        state.stopping.store(true, ordering: .relaxed)
        for thread in threads { thread.join() }
        report(system: system, fault: fault, rounds: rounds, clients: clients, state: state, json: options.flag("json"))
    }

    /// Prints the summary line (text, or JSON with `--json` and the text on standard error).
    static func report(system: LoadSystem, fault: String, rounds: [Round], clients: Int, state: LoadState, json: Bool) {
        let gaps = LatencySummary(nanoseconds: rounds.map { Int64($0.gapMilliseconds * 1e6) })
        let rejoins = LatencySummary(nanoseconds: rounds.map { Int64($0.rejoinMilliseconds * 1e6) })
        let successes = state.successes.load(ordering: .relaxed)
        let errors = state.errors.load(ordering: .relaxed)
        let line =
            "failover \(system.rawValue): \(rounds.count) leader faults (\(fault)) under \(clients) clients: "
            + "write gap p50 \(decimal(gaps.p50, places: 1)) ms, max \(decimal(gaps.max, places: 1)) ms, "
            + "mean \(decimal(gaps.mean, places: 1)) ms; rejoin p50 \(decimal(rejoins.p50, places: 0)) ms; "
            + "writes acknowledged \(successes), failed \(errors)"
        guard json else {
            print(line)
            return
        }
        printError(line)
        let list = rounds.map { decimal($0.gapMilliseconds, places: 1) }.joined(separator: ",")
        print(
            "{\"benchmark\":\"failover\",\"system\":\"\(system.rawValue)\",\"fault\":\"\(fault)\","
                + "\"kills\":\(rounds.count),"
                + "\"clients\":\(clients),\"gapP50Ms\":\(decimal(gaps.p50, places: 1)),"
                + "\"gapMaxMs\":\(decimal(gaps.max, places: 1)),\"gapMeanMs\":\(decimal(gaps.mean, places: 1)),"
                + "\"rejoinP50Ms\":\(decimal(rejoins.p50, places: 0)),\"gapsMs\":[\(list)],"
                + "\"writes\":\(successes),\"errors\":\(errors)}"
        )
    }

    /// One load client: sequential writes, starting at endpoint `index` and moving to the next endpoint after any
    /// failure (refused, reset, timed out, or not 200), with a 5 ms pause so a leaderless cluster is not flooded.
    static func runClient(index: Int, endpoints: [String], requests: WriteRequests, state: LoadState, timeout: Int) {
        var generator = SplitMix64(seed: UInt64(index + 1) &* 0x2545_F491_4F6C_DD1D ^ UInt64(monotonicNanoseconds()))
        var position = index % endpoints.count
        var client: HTTPClient? = nil
        while !state.stopping.load(ordering: .relaxed) {
            let began = monotonicNanoseconds()
            do {
                if client == nil {
                    client = try HTTPClient(address: endpoints[position], timeoutMilliseconds: timeout)
                }
                let key = Int.random(in: 0..<requests.targets.count, using: &generator)
                let response = try requests.write(key: key, on: client!)
                if response.status == 200 {
                    state.acknowledged(began: began, ended: monotonicNanoseconds())
                    continue
                }
            } catch {
                // Counted below; the next endpoint is tried.
            }
            state.errors.add(1, ordering: .relaxed)
            client?.close()
            client = nil
            position = (position + 1) % endpoints.count
            sleepMilliseconds(5)
        }
        client?.close()
    }

    /// Polls `condition` every `milliseconds` for up to `seconds`; true once it holds.
    static func waitUntil(seconds: Double, every milliseconds: Int = 1, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicNanoseconds() + Int64(seconds * 1e9)
        while !condition() {
            guard monotonicNanoseconds() < deadline else { return false }
            sleepMilliseconds(milliseconds)
        }
        return true
    }
}
