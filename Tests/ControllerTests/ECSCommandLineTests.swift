import Glibc
import HTTP
import Testing

/// The stock AWS CLI (`aws ecs … --endpoint-url`) and boto3 against a real 3-controller cluster with exec agents:
/// Gantry's ECS face, signed with AWS Signature Version 4 by the real clients.
@Suite("AWS CLI and boto3 against a live cluster", .serialized)
struct ECSCommandLineTests {
    static let accessKeyID = "AKIAGANTRYTEST000001"
    static let secret = "gantry-test-secret-access-key-000001"
    static let readonlyKeyID = "AKIAGANTRYREADONLY01"
    static let readonlySecret = "gantry-test-readonly-secret-key-0001"
    static let sessionKeyID = "AKIAGANTRYSESSION001"
    static let sessionSecret = "gantry-test-session-secret-key-00001"
    static let sessionToken = "gantry-test-session-token-0001"

    /// A cluster whose tokens file also holds two access keys (operator and readonly).
    static func cluster() throws -> ProcessCluster {
        let cluster = try ProcessCluster(size: 3)
        try writeFile(
            "\(cluster.directory)/tokens.json",
            """
            {"tokens":[{"name":"admin","role":"admin","token":"\(ProcessCluster.adminToken)"},
            {"name":"join","role":"agent","token":"\(ProcessCluster.joinToken)"}],
            "accessKeys":[{"name":"ci","role":"operator","accessKeyId":"\(accessKeyID)","secretAccessKey":"\(secret)"},
            {"name":"dashboard","role":"readonly","accessKeyId":"\(readonlyKeyID)",
             "secretAccessKey":"\(readonlySecret)"},
            {"name":"temporary","role":"readonly","accessKeyId":"\(sessionKeyID)",
             "secretAccessKey":"\(sessionSecret)","sessionToken":"\(sessionToken)"}]}
            """
        )
        try cluster.startAll()
        return cluster
    }

    /// `aws ecs <arguments>` against member `id` (JSON output); the exit status and what it printed.
    static func aws(
        _ cluster: ProcessCluster,
        _ id: UInt64,
        _ arguments: [String],
        key: String = accessKeyID,
        secret: String = secret,
        extra: [String] = []
    ) throws -> (status: Int32, output: String) {
        let port = try #require(cluster.members[id]?.apiPort)
        return try run(
            ["/usr/bin/env", "aws", "ecs"] + arguments + [
                "--endpoint-url", "http://127.0.0.1:\(port)", "--region", "us-east-1", "--output", "json",
            ],
            environment: [
                "AWS_ACCESS_KEY_ID=\(key)", "AWS_SECRET_ACCESS_KEY=\(secret)", "AWS_DEFAULT_REGION=us-east-1",
                "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=",
            ] + extra,
            timeoutMilliseconds: 120_000
        )
    }

    @Test("the AWS CLI: clusters, a task definition from a file, a service with a circuit breaker on real agents")
    func awsCLI() throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require(cluster.members.keys.sorted().first { $0 != leader })
        let agents = try AgentEndToEndTests.Agents(cluster, runtime: "exec")
        defer { agents.shutdown() }
        func aws(_ arguments: String...) throws -> String {
            let (status, output) = try Self.aws(cluster, follower, arguments)
            #expect(status == 0, "aws ecs \(arguments.joined(separator: " ")): \(output)")
            return output
        }
        let started = monotonicMilliseconds()
        #expect(
            try aws("create-cluster", "--cluster-name", "e2e").contains(
                #""clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/e2e""#
            )
        )
        #expect(try aws("list-clusters").contains("cluster/e2e"))
        let described = try aws("describe-clusters", "--clusters", "e2e", "nowhere")
        #expect(described.contains(#""clusterName": "e2e""#) && described.contains(#""reason": "MISSING""#))
        try agents.start(1)
        try agents.start(2)
        let registered = try aws(
            "register-task-definition",
            "--cli-input-json",
            "file://\(Self.repositoryRoot())/deploy/examples/hello-taskdef.json"
        )
        #expect(
            registered.contains(#""taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/hello:1""#)
        )
        #expect(try aws("describe-task-definition", "--task-definition", "hello").contains(#""family": "hello""#))
        #expect(try aws("list-task-definitions").contains("task-definition/hello:1"))
        let created = try aws(
            "create-service",
            "--cluster",
            "e2e",
            "--service-name",
            "web",
            "--task-definition",
            "hello",
            "--desired-count",
            "2",
            "--deployment-configuration",
            "deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100"
        )
        #expect(created.contains(#""serviceName": "web""#))
        _ = try aws("wait", "services-stable", "--cluster", "e2e", "--services", "web")
        print("aws ecs: create-service to services-stable in \(monotonicMilliseconds() - started) ms")
        var services = try aws("describe-services", "--cluster", "e2e", "--services", "web")
        #expect(services.contains(#""runningCount": 2"#))
        _ = try aws("update-service", "--cluster", "e2e", "--service", "web", "--desired-count", "3")
        _ = try aws("wait", "services-stable", "--cluster", "e2e", "--services", "web")
        services = try aws("describe-services", "--cluster", "e2e", "--services", "web")
        #expect(services.contains(#""runningCount": 3"#))
        let tasks = try aws("list-tasks", "--cluster", "e2e", "--service-name", "web", "--desired-status", "RUNNING")
        let arns = tasks.ranges(of: "arn:aws:ecs:us-east-1:123456789012:task/e2e/").map {
            String(tasks[$0.lowerBound...].prefix { $0 != "\"" })
        }
        #expect(arns.count == 3, "\(tasks)")
        let victim = try #require(arns.first)
        #expect(try aws("stop-task", "--cluster", "e2e", "--task", victim, "--reason", "cli test").contains("cli test"))
        _ = try aws("wait", "tasks-stopped", "--cluster", "e2e", "--tasks", victim)
        _ = try aws("wait", "services-stable", "--cluster", "e2e", "--services", "web")
        let instances = try aws("list-container-instances", "--cluster", "e2e")
        #expect(instances.ranges(of: "container-instance/e2e/").count == 2)
        _ = try aws("delete-service", "--cluster", "e2e", "--service", "web", "--force")
        _ = try aws("wait", "services-inactive", "--cluster", "e2e", "--services", "web")
        // Delete everything: the instances (their agents stopped first), the task definition, the cluster.
        agents.shutdown()
        for arn in instances.ranges(of: "arn:aws:ecs:us-east-1:123456789012:container-instance/e2e/").map({
            String(instances[$0.lowerBound...].prefix { $0 != "\"" })
        }) {
            _ = try aws("deregister-container-instance", "--cluster", "e2e", "--container-instance", arn, "--force")
        }
        _ = try aws("deregister-task-definition", "--task-definition", "hello:1")
        #expect(try aws("delete-task-definitions", "--task-definitions", "hello:1").contains("DELETE_IN_PROGRESS"))
        #expect(try aws("delete-cluster", "--cluster", "e2e").contains(#""clusterName": "e2e""#))
        #expect(!(try aws("list-clusters")).contains("cluster/e2e"))
        print("aws ecs: the whole scenario in \(monotonicMilliseconds() - started) ms")
    }

    @Test("the AWS CLI: documented errors for wrong input, and signatures that are refused")
    func awsCLIErrors() throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let leader = try #require(cluster.waitForLeader())
        func failure(
            _ arguments: [String],
            key: String = Self.accessKeyID,
            secret: String = Self.secret,
            extra: [String] = []
        )
            throws -> String
        {
            let (status, output) = try Self.aws(cluster, leader, arguments, key: key, secret: secret, extra: extra)
            #expect(status != 0, "aws ecs \(arguments.joined(separator: " ")) should fail: \(output)")
            return output
        }
        #expect(
            try failure(["describe-services", "--cluster", "nowhere", "--services", "web"]).contains(
                "(ClusterNotFoundException)"
            )
        )
        _ = try Self.aws(cluster, leader, ["create-cluster", "--cluster-name", "prod"])
        #expect(
            try failure(["update-service", "--cluster", "prod", "--service", "web", "--desired-count", "1"]).contains(
                "(ServiceNotFoundException)"
            )
        )
        let invalid = try failure([
            "create-service", "--cluster", "prod", "--service-name", "web", "--task-definition", "nothing:1",
            "--desired-count", "1",
        ])
        #expect(invalid.contains("(ClientException)") || invalid.contains("(InvalidParameterException)"), "\(invalid)")
        let (deleted, deleteOutput) = try Self.aws(
            cluster,
            leader,
            ["delete-task-definitions", "--task-definitions", "x:1"]
        )
        #expect(deleted == 0 && deleteOutput.contains("task-definition/x:1") && deleteOutput.contains("MISSING"))
        #expect(
            try failure([
                "create-capacity-provider", "--name", "x", "--auto-scaling-group-provider", "autoScalingGroupArn=a",
            ]).contains("(UnsupportedFeatureException)")
        )
        // Signatures: a wrong secret, an unknown key, a date 20 minutes off, a readonly key writing.
        #expect(
            try failure(["list-clusters"], secret: "wrong-secret-wrong-secret-0000").contains(
                "(InvalidSignatureException)"
            )
        )
        #expect(try failure(["list-clusters"], key: "AKIAUNKNOWNKEY000001").contains("(UnrecognizedClientException)"))
        #expect(
            try failure(
                ["create-cluster", "--cluster-name", "x"],
                key: Self.readonlyKeyID,
                secret: Self.readonlySecret
            ).contains("(AccessDeniedException)")
        )
        #expect(try failure(["list-clusters", "--no-sign-request"]).contains("(MissingAuthenticationTokenException)"))
        let (status, listed) = try Self.aws(
            cluster,
            leader,
            ["list-clusters"],
            key: Self.readonlyKeyID,
            secret: Self.readonlySecret
        )
        #expect(status == 0 && listed.contains("cluster/prod"), "a readonly key reads")
    }

    @Test("boto3: the same life cycle with waiters, idempotent creates, pagination, modelled errors, signatures")
    func boto3() throws {
        let cluster = try Self.cluster()
        defer { cluster.shutdown() }
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require(cluster.members.keys.sorted().first { $0 != leader })
        let agents = try AgentEndToEndTests.Agents(cluster, runtime: "exec")
        defer { agents.shutdown() }
        let port = try #require(cluster.members[follower]?.apiPort)
        let started = monotonicMilliseconds()
        // The agents join once the cluster exists: the script creates it first, then registers.
        let script = try spawn(
            [
                "/usr/bin/env", "python3", "\(Self.repositoryRoot())/Tests/ControllerTests/ecs_boto3_scenario.py",
                "http://127.0.0.1:\(port)", Self.accessKeyID, Self.secret,
                "\(Self.repositoryRoot())/deploy/examples/hello-taskdef.json",
                Self.sessionKeyID, Self.sessionSecret, Self.sessionToken,
            ],
            log: "\(cluster.directory)/boto3.log"
        )
        var exited = false
        var status: Int32 = 0
        var agentsStarted = false
        while !exited && monotonicMilliseconds() - started < 240_000 {
            exited = waitpid(script, &status, WNOHANG) == script
            if !agentsStarted,
                cluster.request(leader, "GET", "/v1/clusters/e2e?consistency=stale")?.status == 200
            {
                try agents.start(1)
                try agents.start(2)
                agentsStarted = true
            }
            if !exited { usleep(100_000) }
        }
        if !exited {
            kill(script, SIGKILL)
            reap(script)
        }
        let output = String(decoding: (try? readWholeFile("\(cluster.directory)/boto3.log")) ?? [], as: UTF8.self)
        print(output)
        #expect(exited && status == 0 && output.contains("boto3: PASS"), "\(output.suffix(2_000))")
    }

    /// The repository's root (the test binary lives under .build).
    static func repositoryRoot() -> String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }
        return path
    }
}
