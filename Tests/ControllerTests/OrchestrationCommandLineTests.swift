import Glibc
import HTTP
import Testing

/// `gantry service explain | deployments | rollback` against a real 3-node cluster, through a follower.
@Suite("gantry service explain, deployments and rollback (real processes)", .serialized)
struct OrchestrationCommandLineTests {
    @Test("explain shows each instance's verdict, deployments lists the rollout, rollback --to 1 starts a rollback")
    func explainDeploymentsRollback() throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require([1, 2, 3].map(UInt64.init).first { $0 != leader })
        let environment = [
            "GANTRY_ADDR=127.0.0.1:\(cluster.members[follower]!.apiPort)", "GANTRY_TOKEN=\(ProcessCluster.adminToken)",
        ]
        func gantry(_ arguments: String..., status expected: Int32 = 0) throws -> String {
            let (status, output) = try run([cluster.binary] + arguments, environment: environment)
            #expect(status == expected, "gantry \(arguments.joined(separator: " ")): exit \(status): \(output)")
            return output
        }
        let definition = cluster.directory + "/web.json"
        try writeFile(
            definition,
            #"{"family":"web","containerDefinitions":[{"name":"web","image":"nginx","memory":256,"cpu":128}]}"#
        )
        _ = try gantry("cluster", "create", "demo")
        _ = try gantry("taskdef", "register", "--file", definition)
        _ = try gantry(
            "service",
            "create",
            "--cluster",
            "demo",
            "--name",
            "web",
            "--task-definition",
            "web",
            "--desired-count",
            "1"
        )
        let registration = #"{"hostname":"h1","cpu":1024,"memory":2048,"agentVersion":"0.1.0"}"#
        let registered = try #require(
            cluster.request(follower, "POST", "/v1/clusters/demo/container-instances", body: registration)
        )
        let instance = try #require(jsonString(registered.bodyText, "id"), "\(registered.bodyText)")

        let explained = try gantry("service", "explain", "--cluster", "demo", "web")
        let lines = explained.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(explained)")
        #expect(lines.first?.contains("demo/web") == true, "\(explained)")
        #expect(lines.dropFirst().first?.hasPrefix("INSTANCE") == true, "\(explained)")
        #expect(lines.last?.hasPrefix(instance) == true && lines.last?.contains(" h1 ") == true, "\(explained)")
        let explainedJSON = try gantry("service", "explain", "--cluster", "demo", "web", "--output", "json")
        #expect(explainedJSON.hasPrefix(#"{"explanation":{"#), "\(explainedJSON)")

        let deployments = try gantry("service", "deployments", "--cluster", "demo", "web")
        let rows = deployments.split(separator: "\n")
        #expect(rows.first?.hasPrefix("ID") == true && rows.first?.hasSuffix("ROLLBACK") == true, "\(deployments)")
        #expect(rows.count == 2 && rows[1].contains("PRIMARY") && rows[1].contains("web:1"), "\(deployments)")
        let deploymentsJSON = try gantry("service", "deployments", "--cluster", "demo", "web", "--output", "json")
        #expect(deploymentsJSON.hasPrefix(#"{"deployments":[{"#) && deploymentsJSON.contains(#""history":"#))

        let rolledBack = try gantry("service", "rollback", "--cluster", "demo", "web", "--to", "1")
        #expect(rolledBack.hasPrefix("web: deployment ecs-svc/"), "\(rolledBack)")
        #expect(rolledBack.contains("PRIMARY web:1") && rolledBack.contains("rollback"), "\(rolledBack)")
        let after = try gantry("service", "deployments", "--cluster", "demo", "web")
        #expect(after.split(separator: "\n").dropFirst().first?.hasSuffix("yes") == true, "\(after)")

        // Refusals: an unknown revision is the API's one-line error (exit 1); usage errors exit 2.
        let missing = try gantry("service", "rollback", "--cluster", "demo", "web", "--to", "9", status: 1)
        #expect(missing.contains("error 404") && missing.split(separator: "\n").count == 1, "\(missing)")
        let noName = try gantry("service", "explain", "--cluster", "demo", status: 2)
        #expect(noName.hasPrefix("gantry: usage: gantry service") && noName.split(separator: "\n").count == 1)
        let unknown = try gantry("service", "rollback", "--cluster", "demo", "web", "--bogus", status: 2)
        #expect(unknown == "gantry: unknown option --bogus\n", "\(unknown)")
    }
}

/// Instance liveness through real processes: heartbeats go to the leader's memory (forwarded by a follower); a
/// silent instance is declared lost after the TTL and its task replaced on the live one.
@Suite("Instance liveness (real processes)", .serialized)
struct InstanceLivenessTests {
    @Test("a silent instance is lost after --instance-ttl-ms and its task moves; a beating one stays connected")
    func silentInstanceIsLost() throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        for id in cluster.members.keys.sorted() { try cluster.start(id, extra: ["--instance-ttl-ms", "2000"]) }
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require([1, 2, 3].map(UInt64.init).first { $0 != leader })
        func post(_ target: String, _ body: String = "") -> (Int, String) {
            guard let response = cluster.request(follower, "POST", target, body: body) else { return (0, "") }
            return (response.status, response.bodyText)
        }
        #expect(post("/v1/clusters", #"{"clusterName":"live"}"#).0 == 200)
        let definition =
            #"{"family":"app","containerDefinitions":[{"name":"app","image":"app","memory":64,"cpu":64}]}"#
        #expect(post("/v1/task-definitions", definition).0 == 200)
        var ids: [String] = []
        for host in ["silent", "beating"] {
            let (status, body) = post(
                "/v1/clusters/live/container-instances",
                #"{"hostname":"\#(host)","cpu":1024,"memory":1024,"agentVersion":"t"}"#
            )
            #expect(status == 200, "\(body)")
            ids.append(try #require(jsonString(body, "id")))
        }
        let (unknown, _) = post("/v1/clusters/live/container-instances/\(String(repeating: "f", count: 32))/heartbeat")
        #expect(unknown == 404)
        // Both beat until the service's two tasks are placed (spread: one on each).
        #expect(
            post(
                "/v1/clusters/live/services",
                #"{"serviceName":"app","taskDefinition":"app","desiredCount":2}"#
            ).0 == 200
        )
        func placed(on instance: String) -> Int {
            let target = "/v1/clusters/live/container-instances/\(instance)/tasks?consistency=stale"
            guard let response = cluster.request(follower, "GET", target) else { return -1 }
            return response.bodyText.ranges(of: "\"taskArn\"").count
        }
        var spread = false
        for _ in 0..<50 where !spread {
            for id in ids { _ = post("/v1/clusters/live/container-instances/\(id)/heartbeat") }
            spread = placed(on: ids[0]) == 1 && placed(on: ids[1]) == 1
            usleep(100_000)
        }
        #expect(spread, "one task on each instance")
        // Now only the second one beats: within a few TTLs the first is lost and both tasks run on the second.
        var lost = false
        for _ in 0..<80 where !lost {
            let (status, body) = post("/v1/clusters/live/container-instances/\(ids[1])/heartbeat")
            #expect(status == 200 && body.contains(#""agentConnected":true"#), "\(body)")
            let described = cluster.request(follower, "GET", "/v1/clusters/live/container-instances/\(ids[0])")
            lost = described?.bodyText.contains(#""agentConnected":false"#) == true && placed(on: ids[1]) == 2
            usleep(100_000)
        }
        #expect(lost, "the silent instance was declared lost and its task replaced on the beating one")
    }
}
