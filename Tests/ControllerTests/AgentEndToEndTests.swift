import Glibc
import HTTP
import Testing

/// Agents running real containers under a real 3-controller cluster: each scenario runs with the `docker` runtime
/// (real containers through the Docker Engine API: Podman's service in CI, from `deploy/podman-service start`, on
/// GANTRY_DOCKER_SOCKET) and with `exec` (plain processes).
@Suite("Agents end to end (real containers and processes)", .serialized)
struct AgentEndToEndTests {
    static let dockerSocket = environmentValue("GANTRY_DOCKER_SOCKET") ?? "/run/gantry-podman/docker.sock"

    /// A task definition of family `family` whose container runs `command` in gantry/busybox (exec ignores the
    /// image), exiting promptly on SIGTERM.
    static func definition(_ family: String, _ command: String, stopTimeout: Int? = nil) -> String {
        let stop = stopTimeout.map { #","stopTimeout":\#($0)"# } ?? ""
        return #"{"family":"\#(family)","containerDefinitions":[{"name":"main","image":"gantry/busybox:latest","#
            + #""memory":64,"cpu":64,"command":["sh","-c","\#(command)"]\#(stop)}]}"#
    }

    /// Runs until stopped; exits 0 on SIGTERM (also as a container's PID 1). `tag` tells revisions apart.
    static func runs(_ tag: Int = 600) -> String { "trap 'exit 0' TERM; sleep \(tag) & wait" }

    /// The agents this test started, and the containers they started (docker: by their labels; exec: by their
    /// pid files).
    final class Agents {
        let cluster: ProcessCluster
        let runtime: String
        var pids: [Int: pid_t] = [:]
        /// Where each agent serves its containers' logs.
        var logPorts: [Int: UInt16] = [:]

        init(_ cluster: ProcessCluster, runtime: String) throws {
            self.cluster = cluster
            self.runtime = runtime
            if runtime == "docker" {
                let ping = dockerCall("GET", "/_ping")
                try #require(
                    ping?.status == 200,
                    "no Docker Engine API on \(AgentEndToEndTests.dockerSocket): run deploy/podman-service start"
                )
            }
        }

        func stateDirectory(_ number: Int) -> String { "\(cluster.directory)/agent\(number)" }

        /// Starts agent `number` with the join token (it then acts with its own credential), serving logs.
        func start(_ number: Int) throws {
            let controllers = cluster.members.values.map { "127.0.0.1:\($0.apiPort)" }.sorted().joined(separator: ",")
            if logPorts[number] == nil { logPorts[number] = try freePort() }
            pids[number] = try spawn(
                [
                    cluster.binary, "agent", "--controllers", controllers, "--cluster", "e2e",
                    "--state-dir", stateDirectory(number), "--runtime", runtime, "--hostname", "agent\(number)",
                    "--cpu", "2048", "--memory", "2048", "--heartbeat-ms", "300",
                    "--docker-socket", AgentEndToEndTests.dockerSocket, "--listen", "127.0.0.1:\(logPorts[number]!)",
                ],
                log: "\(cluster.directory)/agent\(number).log",
                environment: ["GANTRY_TOKEN=\(ProcessCluster.joinToken)"]
            )
        }

        /// The ids of the tasks whose containers are running on agent `number`'s host.
        func live(_ number: Int) -> [String] {
            if runtime == "exec" {
                return pidFileNames(stateDirectory(number) + "/logs").map { String($0.prefix(32)) }.sorted()
            }
            guard let instance = readLine(stateDirectory(number) + "/instance-id") else { return [] }
            return AgentEndToEndTests.dockerContainers(instance: instance, runningOnly: true).map(\.task).sorted()
        }

        func kill9(_ number: Int) {
            guard let pid = pids[number] else { return }
            kill(pid, SIGKILL)
            reap(pid)
            pids[number] = nil
        }

        /// Stops every agent, then every container process any of them left behind.
        func shutdown() {
            for (_, pid) in pids {
                kill(pid, SIGTERM)
                reap(pid)
            }
            pids = [:]
            for number in 1...2 where runtime == "docker" {
                guard let instance = readLine(stateDirectory(number) + "/instance-id") else { continue }
                for container in AgentEndToEndTests.dockerContainers(instance: instance, runningOnly: false) {
                    _ = dockerCall("DELETE", "/containers/\(container.id)?force=1")
                }
            }
            for number in 1...2 where runtime == "exec" {
                let logs = "\(stateDirectory(number))/logs"
                for name in pidFileNames(logs) {
                    if let pid = readLine("\(logs)/\(name)").flatMap({ $0.split(separator: " ").first }).flatMap({
                        Int32($0)
                    }) {
                        kill(-pid, SIGKILL)
                    }
                }
            }
        }
    }

    /// The containers the engine has for `instance` (by the agent's labels).
    static func dockerContainers(instance: String, runningOnly: Bool) -> [(id: String, task: String)] {
        let status = runningOnly ? #","status":["running"]"# : ""
        let filter = #"{"label":["gantry.instance=\#(instance)"]\#(status)}"#
        let encoded = filter.utf8.map { byte -> String in
            let scalar = Unicode.Scalar(byte)
            return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                ? String(scalar) : "%" + String(byte, radix: 16, uppercase: true)
        }.joined()
        guard let response = dockerCall("GET", "/containers/json?all=1&filters=\(encoded)"), response.status == 200
        else { return [] }
        // [{"Id":"…", …, "Labels":{…,"gantry.task":"…",…}, …}, …]: one Id and one gantry.task per container.
        let text = response.bodyText
        let ids = text.ranges(of: #""Id":""#).map { String(text[$0.upperBound...].prefix { $0 != "\"" }) }
        let tasks = text.ranges(of: #""gantry.task":""#).map { String(text[$0.upperBound...].prefix { $0 != "\"" }) }
        return zip(ids, tasks).map { ($0, $1) }
    }

    @Test(
        "a service of 3 runs on 2 agents; kill -9 of one moves its tasks; when it returns it stops the old ones",
        arguments: ["docker", "exec"]
    )
    func serviceOnTwoAgents(runtime: String) throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        for id in cluster.members.keys.sorted() { try cluster.start(id, extra: ["--instance-ttl-ms", "2000"]) }
        let leader = try #require(cluster.waitForLeader())
        let agents = try Agents(cluster, runtime: runtime)
        defer { agents.shutdown() }
        func post(_ target: String, _ body: String) -> Int {
            cluster.request(leader, "POST", target, body: body)?.status ?? 0
        }
        #expect(post("/v1/clusters", #"{"clusterName":"e2e"}"#) == 200)
        #expect(post("/v1/task-definitions", Self.definition("sleeper", Self.runs())) == 200)
        try agents.start(1)
        try agents.start(2)
        #expect(
            post("/v1/clusters/e2e/services", #"{"serviceName":"web","taskDefinition":"sleeper","desiredCount":3}"#)
                == 200
        )
        func running() -> (Int, String) {
            let body = cluster.request(leader, "GET", "/v1/clusters/e2e/services/web?consistency=stale")?.bodyText ?? ""
            return (serviceRunningCount(body) ?? -1, body)
        }
        let started = monotonicMilliseconds()
        var reached = false
        while !reached && monotonicMilliseconds() - started < 30_000 {
            reached = running().0 == 3
            usleep(200_000)
        }
        #expect(reached, "3 tasks RUNNING: \(running().1)")
        print("e2e[\(runtime)]: 3 tasks RUNNING on 2 agents after \(monotonicMilliseconds() - started) ms")

        let firstInstance = try #require(readLine(agents.stateDirectory(1) + "/instance-id"))
        let onFirst =
            cluster.request(
                leader,
                "GET",
                "/v1/clusters/e2e/container-instances/\(firstInstance)/tasks?consistency=stale"
            )?.bodyText ?? ""
        #expect(onFirst.contains("taskArn"), "agent 1 runs at least one task (spread): \(onFirst)")
        agents.kill9(1)
        let killed = monotonicMilliseconds()
        var moved = false
        while !moved && monotonicMilliseconds() - killed < 30_000 {
            let instances =
                cluster.request(leader, "GET", "/v1/clusters/e2e/container-instances?consistency=stale")?.bodyText ?? ""
            let tasks =
                cluster.request(leader, "GET", "/v1/clusters/e2e/services/web?consistency=stale")?.bodyText ?? ""
            moved =
                instances.contains(#""agentConnected":false"#) && serviceRunningCount(tasks) == 3
                && jsonInt(tasks, "healthyTaskCount") == 3
            usleep(200_000)
        }
        #expect(moved, "after kill -9 of an agent: its instance lost and 3 tasks RUNNING again: \(running().1)")
        print(
            "e2e[\(runtime)]: agent killed; 3 tasks RUNNING again on the other after \(monotonicMilliseconds() - killed) ms"
        )

        // The killed agent returns: it adopts the processes it left running, finds their tasks replaced, and stops
        // them — never two copies running knowingly.
        #expect(!agents.live(1).isEmpty, "its containers outlived it")
        try agents.start(1)
        let restarted = monotonicMilliseconds()
        var cleaned = false
        while !cleaned && monotonicMilliseconds() - restarted < 30_000 {
            let left =
                cluster.request(
                    leader,
                    "GET",
                    "/v1/clusters/e2e/container-instances/\(firstInstance)?consistency=stale"
                )?.bodyText ?? ""
            let tasks =
                cluster.request(
                    leader,
                    "GET",
                    "/v1/clusters/e2e/container-instances/\(firstInstance)/tasks?consistency=stale"
                )?.bodyText ?? ""
            cleaned =
                left.contains(#""agentConnected":true"#) && !tasks.contains("taskArn") && agents.live(1).isEmpty
            usleep(200_000)
        }
        #expect(cleaned, "the returning agent stopped its replaced tasks and reconnected")
        print(
            "e2e[\(runtime)]: killed agent back; its replaced tasks stopped after \(monotonicMilliseconds() - restarted) ms"
        )
        #expect(serviceRunningCount(running().1) == 3)
    }
}

extension AgentEndToEndTests {
    @Test(
        "a container that vanished while its agent was down is reported stopped when the agent returns, and replaced",
        arguments: ["docker", "exec"]
    )
    func vanishedWhileAgentDown(runtime: String) throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let agents = try Agents(cluster, runtime: runtime)
        defer { agents.shutdown() }
        func send(_ method: String, _ target: String, _ body: String) -> Int {
            cluster.request(leader, method, target, body: body)?.status ?? 0
        }
        func describe() -> String {
            cluster.request(leader, "GET", "/v1/clusters/e2e/services/web?consistency=stale")?.bodyText ?? ""
        }
        #expect(send("POST", "/v1/clusters", #"{"clusterName":"e2e"}"#) == 200)
        #expect(send("POST", "/v1/task-definitions", Self.definition("web", Self.runs(), stopTimeout: 2)) == 200)
        try agents.start(1)
        #expect(
            send("POST", "/v1/clusters/e2e/services", #"{"serviceName":"web","taskDefinition":"web","desiredCount":2}"#)
                == 200
        )
        var started = monotonicMilliseconds()
        while (serviceRunningCount(describe()) != 2 || agents.live(1).count != 2)
            && monotonicMilliseconds() - started < 30_000
        {
            usleep(200_000)
        }
        let before = agents.live(1)
        #expect(before.count == 2, "2 containers running: \(before)")
        // The agent stops (its containers keep running); one container disappears behind its back.
        let pid = try #require(agents.pids[1])
        kill(pid, SIGTERM)
        reap(pid)
        agents.pids[1] = nil
        let victim = try #require(before.first)
        if runtime == "docker" {
            #expect(dockerCall("DELETE", "/containers/gantry-\(victim)-main?force=1")?.status == 204)
        } else {
            let file = "\(agents.stateDirectory(1))/logs/\(victim)-main.pid"
            let group = try #require(readLine(file).flatMap { $0.split(separator: " ").first }.flatMap { Int32($0) })
            kill(-group, SIGKILL)
        }
        started = monotonicMilliseconds()
        try agents.start(1)
        var replaced = false
        var text = ""
        while !replaced && monotonicMilliseconds() - started < 30_000 {
            text =
                cluster.request(leader, "GET", "/v1/clusters/e2e/tasks/\(victim)?consistency=stale")?.bodyText ?? ""
            let live = agents.live(1)
            // docker: no container left to adopt, so "gone from this host"; exec: the killed process may still be
            // adopted (its pid not yet reaped) and then seen to exit, code unknown (-1).
            replaced =
                (text.contains("gone from this host") || (runtime == "exec" && text.contains("exited with code -1")))
                && text.contains(#""desiredStatus":"STOPPED""#) && serviceRunningCount(describe()) == 2
                && live.count == 2
                && !live.contains(victim)
            usleep(200_000)
        }
        #expect(replaced, "the vanished task was reported and replaced: \(text)")
        print(
            "e2e[\(runtime)]: a container gone while its agent was down: replaced \(monotonicMilliseconds() - started) ms after the agent returned"
        )
    }
}

extension AgentEndToEndTests {
    @Test(
        "a task's secret reaches its container and its output comes back through `gantry task logs`",
        arguments: ["docker", "exec"]
    )
    func secretsAndLogs(runtime: String) throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let agents = try Agents(cluster, runtime: runtime)
        defer { agents.shutdown() }
        func send(_ method: String, _ target: String, _ body: String) -> Int {
            cluster.request(leader, method, target, body: body)?.status ?? 0
        }
        #expect(send("POST", "/v1/clusters", #"{"clusterName":"e2e"}"#) == 200)
        #expect(send("PUT", "/v1/parameters/app/token", #"{"value":"s3cr3t-value","secret":true}"#) == 200)
        let definition =
            #"{"family":"talker","containerDefinitions":[{"name":"main","image":"gantry/busybox:latest","#
            + #""memory":64,"cpu":64,"secrets":[{"name":"TOKEN","valueFrom":"app/token"}],"#
            + #""command":["sh","-c","echo token=$TOKEN; trap 'exit 0' TERM; "#
            + #"i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2 & wait; done"]}]}"#
        #expect(send("POST", "/v1/task-definitions", definition) == 200)
        try agents.start(1)
        let started = monotonicMilliseconds()
        let ran = cluster.request(leader, "POST", "/v1/clusters/e2e/tasks", body: #"{"taskDefinition":"talker"}"#)
        let task = try #require(ran.flatMap { jsonString($0.bodyText, "id") }, "\(ran?.bodyText ?? "")")
        let address = cluster.members.values.map { "127.0.0.1:\($0.apiPort)" }.sorted().joined(separator: ",")
        var output = ""
        while !output.contains("line 3") && monotonicMilliseconds() - started < 30_000 {
            output =
                (try? run(
                    [cluster.binary, "task", "logs", "--cluster", "e2e", task],
                    environment: ["GANTRY_ADDR=\(address)", "GANTRY_TOKEN=\(ProcessCluster.adminToken)"]
                ))?.output ?? ""
            usleep(200_000)
        }
        #expect(output.contains("token=s3cr3t-value"), "the secret reached the container: \(output)")
        #expect(output.contains("line 3"), "its output came back through a controller: \(output)")
        print("e2e[\(runtime)]: secret resolved and logs read back \(monotonicMilliseconds() - started) ms after run")
        // --follow keeps reading as the container writes, from where it was.
        let followLog = "\(cluster.directory)/follow.log"
        let follower = try spawn(
            [cluster.binary, "task", "logs", "--cluster", "e2e", task, "--follow"],
            log: followLog,
            environment: ["GANTRY_ADDR=\(address)", "GANTRY_TOKEN=\(ProcessCluster.adminToken)"]
        )
        let before = output.split(separator: "\n").filter { $0.hasPrefix("line ") }.count
        usleep(3_000_000)
        kill(follower, SIGTERM)
        reap(follower)
        let followed = String(decoding: (try? readWholeFile(followLog)) ?? [], as: UTF8.self)
        let lines = followed.split(separator: "\n").filter { $0.hasPrefix("line ") }.count
        #expect(lines >= before + 5, "--follow kept reading as the container wrote (\(before) then \(lines) lines)")
        // The secret is in the container's output only: never in an agent's or a controller's log.
        let agentLog = String(decoding: (try? readWholeFile("\(cluster.directory)/agent1.log")) ?? [], as: UTF8.self)
        #expect(!agentLog.isEmpty && !agentLog.contains("s3cr3t-value"))
        for id in cluster.members.keys {
            #expect(!cluster.logTail(id, lines: 1_000_000).contains("s3cr3t-value"))
        }
    }

    @Test(
        "a revision whose container exits 1 at start trips the circuit breaker and rolls back",
        arguments: ["docker", "exec"]
    )
    func breakerRollsBack(runtime: String) throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let agents = try Agents(cluster, runtime: runtime)
        defer { agents.shutdown() }
        func send(_ method: String, _ target: String, _ body: String) -> Int {
            cluster.request(leader, method, target, body: body)?.status ?? 0
        }
        #expect(send("POST", "/v1/clusters", #"{"clusterName":"e2e"}"#) == 200)
        let good = Self.definition("app", Self.runs(), stopTimeout: 2)
        let bad = Self.definition("app", "exit 1")
        #expect(send("POST", "/v1/task-definitions", good) == 200)
        try agents.start(1)
        try agents.start(2)
        let service =
            #"{"serviceName":"app","taskDefinition":"app:1","desiredCount":2,"deploymentConfiguration":"#
            + #"{"deploymentCircuitBreaker":{"enable":true,"rollback":true}}}"#
        #expect(send("POST", "/v1/clusters/e2e/services", service) == 200)
        func describe() -> String {
            cluster.request(leader, "GET", "/v1/clusters/e2e/services/app?consistency=stale")?.bodyText ?? ""
        }
        let created = monotonicMilliseconds()
        while !describe().contains(#""rolloutState":"COMPLETED""#) && monotonicMilliseconds() - created < 40_000 {
            usleep(200_000)
        }
        #expect(describe().contains(#""rolloutState":"COMPLETED""#), "app:1 completed: \(describe())")
        print("e2e[\(runtime)] breaker: app:1 COMPLETED after \(monotonicMilliseconds() - created) ms")
        #expect(send("POST", "/v1/task-definitions", bad) == 200)
        #expect(send("PUT", "/v1/clusters/e2e/services/app", #"{"taskDefinition":"app:2"}"#) == 200)
        let updated = monotonicMilliseconds()
        var rolledBack = false
        while !rolledBack && monotonicMilliseconds() - updated < 60_000 {
            let text = describe()
            // The rollback deployment (PRIMARY, app:1) completed; the failed app:2 one is in the list or history.
            // (Keys are sorted: the rollback deployment's own state follows its isRollback flag.)
            rolledBack =
                text.contains(#""isRollback":true,"pendingCount":0,"rolloutState":"COMPLETED""#)
                && text.contains(#""rolloutState":"FAILED""#)
                && serviceRunningCount(text) == 2
                && text.contains("rolling back to app:1")
            usleep(200_000)
        }
        if !rolledBack { try? writeFile(cluster.directory + "/service.json", describe()) }
        #expect(rolledBack, "breaker tripped and rolled back (the service is in service.json of the test directory)")
        print("e2e[\(runtime)] breaker: rolled back to app:1 \(monotonicMilliseconds() - updated) ms after the update")
    }
}

extension AgentEndToEndTests {
    @Test(
        "kill -9 of the leader during a rolling deployment: it completes under the new leader within the bounds",
        arguments: ["docker", "exec"]
    )
    func leaderKilledDuringRollout(runtime: String) throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let first = try #require(cluster.waitForLeader())
        let agents = try Agents(cluster, runtime: runtime)
        defer { agents.shutdown() }
        func send(_ node: UInt64, _ method: String, _ target: String, _ body: String) -> Int {
            cluster.request(node, method, target, body: body)?.status ?? 0
        }
        #expect(send(first, "POST", "/v1/clusters", #"{"clusterName":"e2e"}"#) == 200)
        for seconds in [600, 601] {
            #expect(
                send(first, "POST", "/v1/task-definitions", Self.definition("app", Self.runs(seconds), stopTimeout: 2))
                    == 200
            )
        }
        try agents.start(1)
        try agents.start(2)
        #expect(
            send(
                first,
                "POST",
                "/v1/clusters/e2e/services",
                #"{"serviceName":"app","taskDefinition":"app:1","desiredCount":4}"#
            )
                == 200
        )
        var observer = first
        func describe() -> String {
            cluster.request(observer, "GET", "/v1/clusters/e2e/services/app?consistency=stale")?.bodyText ?? ""
        }
        let created = monotonicMilliseconds()
        while !describe().contains(#""rolloutState":"COMPLETED""#) && monotonicMilliseconds() - created < 40_000 {
            usleep(200_000)
        }
        #expect(describe().contains(#""rolloutState":"COMPLETED""#))
        #expect(send(first, "PUT", "/v1/clusters/e2e/services/app", #"{"taskDefinition":"app:2"}"#) == 200)
        usleep(1_500_000)
        cluster.signal(first, SIGKILL)
        let killed = monotonicMilliseconds()
        observer = try #require([1, 2, 3].map(UInt64.init).first { $0 != first })
        let second = cluster.waitForLeader(among: [1, 2, 3].map(UInt64.init).filter { $0 != first })
        #expect(second != nil)
        // Sampled throughout: never more than 200% of 4 live, never fewer than 100% of 4 healthy.
        var worst = (live: 0, healthy: Int.max)
        var done = false
        while !done && monotonicMilliseconds() - killed < 60_000 {
            let text = describe()
            if let live = jsonInt(text, "liveTaskCount"), let healthy = jsonInt(text, "healthyTaskCount") {
                worst = (max(worst.live, live), min(worst.healthy, healthy))
            }
            done =
                text.contains(#""pendingCount":0,"rolloutState":"COMPLETED","rolloutStateReason":"ECS deployment"#)
                && text.contains("app:2") && serviceRunningCount(text) == 4 && jsonInt(text, "liveTaskCount") == 4
                && !text.contains(#""status":"ACTIVE","taskDefinition""#)
            usleep(100_000)
        }
        #expect(done, "the rollout completed under the new leader")
        #expect(
            worst.live <= 8 && worst.healthy >= 4,
            "bounds held: at most \(worst.live) live, at least \(worst.healthy) healthy"
        )
        print(
            "e2e[\(runtime)] rollout: leader killed 1.5 s into the update; COMPLETED under node \(second ?? 0) "
                + "\(monotonicMilliseconds() - killed) ms after the kill; at most \(worst.live) live, "
                + "at least \(worst.healthy) healthy"
        )
        // No task runs twice: no task id has a live container under both agents, and there are exactly 4.
        let files = (1...2).map { number in agents.live(number) }
        #expect(Set(files[0]).isDisjoint(with: files[1]))
        #expect(files[0].count + files[1].count == 4, "exactly 4 live containers: \(files)")
    }
}

/// The pid file names in a directory.
func pidFileNames(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name.hasSuffix(".pid") { names.append(name) }
    }
    return names
}

/// The first line of a file.
func readLine(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = fread(&buffer, 1, buffer.count, file)
    return String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n").first.map(String.init)
}

/// How many pid files a directory holds.
func pidFiles(_ path: String) -> Int { pidFileNames(path).count }

/// The service's own runningCount in a DescribeService answer (keys are sorted, so it is the one followed by
/// schedulingStrategy; the deployments' counts come earlier).
func serviceRunningCount(_ text: String) -> Int? {
    for range in text.ranges(of: #""runningCount":"#) {
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        if text[range.upperBound...].dropFirst(digits.count).hasPrefix(#","schedulingStrategy""#) { return Int(digits) }
    }
    return nil
}

/// A whole number after `"name":` in JSON text.
func jsonInt(_ text: String, _ name: String) -> Int? {
    guard let range = text.ranges(of: "\"\(name)\":").first else { return nil }
    return Int(text[range.upperBound...].prefix { $0 == "-" || $0.isNumber })
}

/// One call to the Docker Engine API the e2e agents use.
func dockerCall(_ method: String, _ path: String) -> HTTPClientResponse? {
    let client = HTTPClient(unixSocketPath: AgentEndToEndTests.dockerSocket, timeoutMilliseconds: 10_000)
    defer { client.close() }
    return try? client.send(method: method, target: "/v1.41" + path)
}

/// An environment variable.
func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

@Suite("Simulated instances in one agent process", .serialized)
struct SimulatedInstancesTests {
    /// GANTRY_E2E_SIM_INSTANCES sets how many (default 25; up to 5000).
    static let count = environmentValue("GANTRY_E2E_SIM_INSTANCES").flatMap { Int($0) } ?? 25

    @Test("gantry agent --runtime sim --sim-instances N registers N instances that run a service of 2N tasks")
    func manyInstances() throws {
        let count = Self.count
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        func send(_ method: String, _ target: String, _ body: String) -> Int {
            cluster.request(leader, method, target, body: body)?.status ?? 0
        }
        #expect(send("POST", "/v1/clusters", #"{"clusterName":"e2e"}"#) == 200)
        let definition =
            #"{"family":"sim","containerDefinitions":[{"name":"main","image":"sim/ok","memory":64,"cpu":64}]}"#
        #expect(send("POST", "/v1/task-definitions", definition) == 200)
        let controllers = cluster.members.values.map { "127.0.0.1:\($0.apiPort)" }.sorted().joined(separator: ",")
        let agent = try spawn(
            [
                cluster.binary, "agent", "--controllers", controllers, "--cluster", "e2e",
                "--state-dir", "\(cluster.directory)/sims", "--runtime", "sim", "--sim-instances", "\(count)",
                "--hostname", "host", "--heartbeat-ms", "500",
            ],
            log: "\(cluster.directory)/sims.log",
            environment: ["GANTRY_TOKEN=\(ProcessCluster.adminToken)"]
        )
        var stopped = false
        defer { if !stopped { kill(agent, SIGKILL) } }
        let started = monotonicMilliseconds()
        /// Every page of the instance list, concatenated.
        func instances() -> String {
            var text = ""
            var next: String?
            for _ in 0..<60 {
                let target =
                    "/v1/clusters/e2e/container-instances?consistency=stale" + (next.map { "&nextToken=\($0)" } ?? "")
                let page = cluster.request(leader, "GET", target)?.bodyText ?? ""
                text += page
                next = page.ranges(of: #""nextToken":""#).first.map {
                    String(page[$0.upperBound...].prefix { $0 != "\"" })
                }
                if next == nil { break }
            }
            return text
        }
        func connected() -> Int { instances().ranges(of: #""agentConnected":true"#).count }
        while connected() < count && monotonicMilliseconds() - started < 60_000 { usleep(200_000) }
        #expect(connected() == count, "\(count) simulated instances registered")
        #expect(
            send(
                "POST",
                "/v1/clusters/e2e/services",
                #"{"serviceName":"s","taskDefinition":"sim","desiredCount":\#(2 * count)}"#
            )
                == 200
        )
        func describe() -> String {
            cluster.request(leader, "GET", "/v1/clusters/e2e/services/s?consistency=stale")?.bodyText ?? ""
        }
        while serviceRunningCount(describe()) != 2 * count && monotonicMilliseconds() - started < 120_000 {
            usleep(200_000)
        }
        #expect(
            serviceRunningCount(describe()) == 2 * count,
            "\(2 * count) tasks RUNNING on simulated instances: \(describe())"
        )
        print(
            "e2e[sim]: \(count) instances in one process, \(2 * count) tasks RUNNING after \(monotonicMilliseconds() - started) ms"
        )
        // Spread: every instance runs 2.
        #expect(instances().ranges(of: #""runningTasksCount":2"#).count == count, "2 tasks on each instance")
        kill(agent, SIGTERM)
        var status: Int32 = 0
        var exited = false
        for _ in 0..<100 where !exited {
            exited = waitpid(agent, &status, WNOHANG) == agent
            if !exited { usleep(100_000) }
        }
        stopped = exited
        #expect(exited && status == 0, "SIGTERM stops all \(count) agents and the process exits 0")
    }
}
