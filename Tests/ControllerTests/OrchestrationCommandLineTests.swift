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
