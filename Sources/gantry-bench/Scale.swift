import ClusterState
import HTTP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `scale`: the whole path at scale. Against a running cluster: registers N simulated instances, creates services
/// totalling M tasks, and runs the instances' agents in this process — each agent thread sweeps its instances'
/// assignments (`GET …/container-instances/{id}/tasks?lastStatus=PENDING`, a stale read on a follower) and reports
/// every new one RUNNING (`POST …/task-states`, one batch per instance), and one thread heartbeats every instance
/// every 10 s (`POST …/heartbeat`). Every placement goes through the leader's
/// orchestrator and the Raft log. Prints the registration rate, the placement rate (tasks RUNNING / seconds from
/// the first CreateService), the time until all are RUNNING, and the controllers' resident memory.
enum ScaleBenchmark {
    /// What the agents and the monitor share.
    final class Shared: Sendable {
        let reported = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
    }

    struct Call {
        let client: HTTPClient
        let headers: [HTTPHeader]

        init?(_ endpoint: String, token: String?) {
            guard let client = try? HTTPClient(address: endpoint, timeoutMilliseconds: 60_000) else { return nil }
            self.client = client
            var headers = [HTTPHeader(name: "Content-Type", value: "application/json")]
            if let token { headers.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)")) }
            self.headers = headers
        }

        func send(_ method: String, _ target: String, _ body: String = "") -> (Int, [UInt8])? {
            guard
                let response = try? client.send(
                    method: method,
                    target: target,
                    headers: headers,
                    body: Array(body.utf8)
                )
            else { return nil }
            return (response.status, response.body)
        }
    }

    struct TaskList: Decodable {
        var tasks: [TaskRecord]
    }

    struct ServiceList: Decodable {
        var services: [Service]
    }

    struct InstanceEnvelope: Decodable {
        var containerInstance: ContainerInstance
    }

    static func run(_ options: BenchOptions) {
        let endpoints = options.list("endpoints")
        let token = options.text("token")
        let instances = options.integer("instances", default: 1_000)
        let total = options.integer("tasks", default: 10_000)
        let services = options.integer("services", default: max(1, (total + 9_999) / 10_000))
        let agentThreads = options.integer("agent-threads", default: 4)
        let pidFiles = options.text("pid-files").map { $0.split(separator: ",").map(String.init) } ?? []
        let perService = total / services
        guard perService <= 10_000 else { options.fail("at most 10000 tasks per service: give --services") }
        guard let leader = LoadSystem.gantry.findLeader(endpoints, token: token, timeoutSeconds: 30) else {
            options.fail("no leader among \(endpoints.joined(separator: ","))")
        }
        let writer = endpoints[leader]
        guard let setup = Call(writer, token: token) else { options.fail("cannot connect to \(writer)") }
        print("scale: \(instances) simulated instances, \(services) services × \(perService) tasks, leader \(writer)")
        _ = setup.send("POST", "/v1/clusters", #"{"clusterName":"scale"}"#)
        let definition =
            #"{"family":"scale","containerDefinitions":[{"name":"app","image":"sim/ok","cpu":16,"memory":32}]}"#
        guard let (status, _) = setup.send("POST", "/v1/task-definitions", definition), status == 200 else {
            options.fail("cannot register the task definition")
        }

        // Register the instances, 8 clients in parallel.
        let registrationStart = monotonicNanoseconds()
        let ids = Mutex<[String]>([])
        let shared = Shared()
        var threads: [BenchThread] = []
        for client in 0..<8 {
            threads.append(
                BenchThread {
                    guard let call = Call(writer, token: token) else { return }
                    var mine: [String] = []
                    for number in stride(from: client, to: instances, by: 8) {
                        let body =
                            #"{"hostname":"sim-\#(number)","cpu":16384,"memory":65536,"agentVersion":"bench","#
                            + #""availabilityZone":"zone-\#(number % 3)"}"#
                        guard let (status, bytes) = call.send("POST", "/v1/clusters/scale/container-instances", body),
                            status == 200,
                            let envelope = try? CanonicalJSON.decode(InstanceEnvelope.self, from: bytes)
                        else {
                            shared.errors.add(1, ordering: .relaxed)
                            continue
                        }
                        mine.append(envelope.containerInstance.id)
                    }
                    ids.withLock { $0 += mine }
                }
            )
        }
        for thread in threads { thread.join() }
        let registered = ids.withLock { $0 }
        let registrationSeconds = Double(monotonicNanoseconds() - registrationStart) / 1e9
        print(
            "  registered \(registered.count) instances in \(decimal(registrationSeconds, places: 1)) s "
                + "(\(Int(Double(registered.count) / registrationSeconds))/s), \(shared.errors.load(ordering: .relaxed)) errors"
        )

        // The agents: reads go to the followers (stale reads are served locally), reports to any node.
        let readers = endpoints.indices.filter { $0 != leader }.map { endpoints[$0] }
        threads = []
        for thread in 0..<agentThreads {
            let mine = stride(from: thread, to: registered.count, by: agentThreads).map { registered[$0] }
            let reader = readers.isEmpty ? writer : readers[thread % readers.count]
            threads.append(
                BenchThread {
                    guard let read = Call(reader, token: token), let report = Call(writer, token: token) else { return }
                    while !shared.done.load(ordering: .relaxed) {
                        var quiet = true
                        for id in mine {
                            let target =
                                "/v1/clusters/scale/container-instances/\(id)/tasks?lastStatus=PENDING&consistency=stale"
                            shared.requests.add(1, ordering: .relaxed)
                            guard let (status, bytes) = read.send("GET", target), status == 200,
                                let list = try? CanonicalJSON.decode(TaskList.self, from: bytes)
                            else {
                                shared.errors.add(1, ordering: .relaxed)
                                continue
                            }
                            let wanted = list.tasks.filter { $0.desiredStatus == "RUNNING" }
                            guard !wanted.isEmpty else { continue }
                            quiet = false
                            let reports = wanted.map {
                                #"{"task":"\#($0.id)","epoch":\#($0.epoch),"status":"RUNNING"}"#
                            }
                            for chunk in stride(from: 0, to: reports.count, by: 1_000) {
                                let body =
                                    #"{"reports":["#
                                    + reports[chunk..<min(reports.count, chunk + 1_000)].joined(separator: ",")
                                    + "]}"
                                shared.requests.add(1, ordering: .relaxed)
                                guard
                                    let (status, _) = report.send(
                                        "POST",
                                        "/v1/clusters/scale/container-instances/\(id)/task-states",
                                        body
                                    ),
                                    status == 200
                                else {
                                    shared.errors.add(1, ordering: .relaxed)
                                    continue
                                }
                            }
                            shared.reported.add(wanted.count, ordering: .relaxed)
                        }
                        if quiet { sleepMilliseconds(100) }
                    }
                }
            )
        }

        // The agents' heartbeats: every instance every 10 s, to the leader (it keeps them in memory; an instance
        // silent past the controllers' --instance-ttl-ms would be declared lost).
        threads.append(
            BenchThread {
                guard let beat = Call(writer, token: token) else { return }
                while !shared.done.load(ordering: .relaxed) {
                    let cycle = monotonicNanoseconds()
                    for id in registered {
                        guard !shared.done.load(ordering: .relaxed) else { return }
                        shared.requests.add(1, ordering: .relaxed)
                        guard
                            let (status, _) = beat.send(
                                "POST",
                                "/v1/clusters/scale/container-instances/\(id)/heartbeat"
                            ),
                            status == 200
                        else {
                            shared.errors.add(1, ordering: .relaxed)
                            continue
                        }
                    }
                    let spent = Int((monotonicNanoseconds() - cycle) / 1_000_000)
                    var waited = 0
                    while waited < 10_000 - spent && !shared.done.load(ordering: .relaxed) {
                        sleepMilliseconds(100)
                        waited += 100
                    }
                }
            }
        )

        // The services.
        let start = monotonicNanoseconds()
        for number in 0..<services {
            let body =
                #"{"serviceName":"svc-\#(number)","taskDefinition":"scale:1","desiredCount":\#(perService),"#
                + #""placementStrategy":[{"type":"spread","field":"attribute:ecs.availability-zone"}]}"#
            guard let (status, _) = setup.send("POST", "/v1/clusters/scale/services", body), status == 200 else {
                options.fail("cannot create service svc-\(number)")
            }
        }

        // The monitor: the services' running counts, once a second, until all run or 30 minutes pass.
        var running = 0
        var lastLine = start
        var samples: [(Double, Int)] = []
        let deadline = start + 1_800 * 1_000_000_000
        while running < perService * services && monotonicNanoseconds() < deadline {
            sleepMilliseconds(500)
            var counted = 0
            var page: String?
            repeat {
                let target = "/v1/clusters/scale/services?maxResults=100" + (page.map { "&nextToken=\($0)" } ?? "")
                guard let (status, bytes) = setup.send("GET", target + "&consistency=stale"), status == 200,
                    let list = try? CanonicalJSON.decode(ServiceList.self, from: bytes)
                else { break }
                counted += list.services.reduce(0) { $0 + $1.runningCount }
                page = jsonField("nextToken", in: String(decoding: bytes, as: UTF8.self))
            } while page != nil
            running = counted
            let now = monotonicNanoseconds()
            samples.append((Double(now - start) / 1e9, running))
            if now - lastLine >= 5_000_000_000 || running == perService * services {
                lastLine = now
                print(
                    "  t=\(decimal(Double(now - start) / 1e9, places: 1)) s: \(running) RUNNING, "
                        + "\(shared.requests.load(ordering: .relaxed)) agent requests, "
                        + "\(shared.errors.load(ordering: .relaxed)) errors"
                )
                // Progress lines appear as they happen even through a pipe (bench/scale tees them).
                fflush(nil)
            }
        }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        shared.done.store(true, ordering: .relaxed)
        for thread in threads { thread.join() }
        let finalLeader = LoadSystem.gantry.findLeader(endpoints, token: token, timeoutSeconds: 5)
        print("  all \(running) tasks RUNNING \(decimal(seconds, places: 1)) s after the first CreateService")
        print("  placements/s (to RUNNING, end to end): \(Int(Double(running) / seconds))")
        if let (half, _) = samples.first(where: { $0.1 >= running / 2 }) {
            print("  half the tasks RUNNING after \(decimal(half, places: 1)) s")
        }
        let changed = finalLeader.map { "CHANGED during the run, now \(endpoints[$0])" } ?? "unknown at the end"
        print("  leader \(finalLeader == leader ? "unchanged (\(writer))" : changed)")
        for (position, file) in pidFiles.enumerated() {
            guard let handle = fopen(file, "r") else { continue }
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = fread(&buffer, 1, 32, handle)
            fclose(handle)
            let pid =
                String(decoding: buffer[0..<max(0, count)], as: UTF8.self).split(separator: "\n").first.map(String.init)
                ?? ""
            let role = position == (finalLeader ?? leader) ? "leader" : "follower"
            print("  controller \(position + 1) (\(role)): resident memory \(ScaleCore.residentMiB(pid: pid)) MiB")
        }
    }
}
