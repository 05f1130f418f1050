import ClusterState
import Testing

/// A realistic ECS task definition: nginx publishing port 80 with a health check, an environment variable and a secret
/// from a parameter ARN, and a non-essential log shipper that starts once nginx is healthy.
let sampleTaskDefinition = #"""
    {
      "family": "web-app",
      "networkMode": "bridge",
      "requiresCompatibilities": ["EXTERNAL"],
      "cpu": "512",
      "memory": "1 GB",
      "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      "taskRoleArn": "arn:aws:iam::123456789012:role/web-app",
      "containerDefinitions": [
        {
          "name": "web",
          "image": "nginx:1.27",
          "cpu": 256,
          "memory": 512,
          "memoryReservation": 256,
          "essential": true,
          "portMappings": [{ "containerPort": 80, "hostPort": 8080, "protocol": "tcp" }],
          "environment": [{ "name": "NGINX_PORT", "value": "80" }],
          "secrets": [
            {
              "name": "DB_PASSWORD",
              "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/web-app/db-password"
            }
          ],
          "healthCheck": {
            "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 10
          },
          "stopTimeout": 30,
          "logConfiguration": { "logDriver": "json-file", "options": { "max-size": "10m", "max-file": "3" } },
          "mountPoints": [{ "sourceVolume": "html", "containerPath": "/usr/share/nginx/html", "readOnly": true }],
          "ulimits": [{ "name": "nofile", "softLimit": 65536, "hardLimit": 65536 }],
          "dockerLabels": { "team": "web", "tier": "frontend" }
        },
        {
          "name": "log-shipper",
          "image": "fluent/fluent-bit:3.0",
          "essential": false,
          "memoryReservation": 64,
          "secrets": [{ "name": "API_KEY", "valueFrom": "web-app/log-api-key" }],
          "dependsOn": [{ "containerName": "web", "condition": "HEALTHY" }]
        }
      ],
      "volumes": [{ "name": "html", "host": { "sourcePath": "/srv/web-app/html" } }],
      "placementConstraints": [{ "type": "memberOf", "expression": "attribute:zone == rack-1" }],
      "tags": [{ "key": "team", "value": "web" }]
    }
    """#

/// The sample as `aws ecs describe-task-definition` prints it: with fields Gantry has no use for.
let sampleWithAWSFields = #"""
    {
      "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web-app:7",
      "revision": 7,
      "status": "ACTIVE",
      "compatibilities": ["EC2", "EXTERNAL"],
      "registeredAt": "2024-05-01T10:00:00.000Z",
      "registeredBy": "arn:aws:iam::123456789012:user/ops",
      "requiresAttributes": [{ "name": "com.amazonaws.ecs.capability.docker-remote-api.1.19" }],
      "family": "web-app",
      "requiresCompatibilities": ["EC2", "EXTERNAL"],
      "memory": "512",
      "ephemeralStorage": { "sizeInGiB": 21 },
      "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
      "inferenceAccelerators": [],
      "proxyConfiguration": {
        "type": "APPMESH",
        "containerName": "web",
        "properties": [{ "name": "AppPorts", "value": "80" }]
      },
      "containerDefinitions": [
        {
          "name": "web",
          "image": "nginx:1.27",
          "links": ["legacy"],
          "linuxParameters": { "initProcessEnabled": true, "capabilities": { "add": ["NET_ADMIN"] } },
          "resourceRequirements": [{ "type": "GPU", "value": "1" }],
          "systemControls": [],
          "repositoryCredentials": { "credentialsParameter": "arn:aws:secretsmanager:eu-west-1:1:secret:x" },
          "firelensConfiguration": { "type": "fluentbit" },
          "volumesFrom": [],
          "logConfiguration": { "logDriver": "awslogs", "options": { "awslogs-group": "/ecs/web" } },
          "portMappings": [{ "containerPort": 80, "hostPort": 80, "protocol": "tcp", "name": "http", "appProtocol": "http" }]
        }
      ]
    }
    """#

/// The sample, decoded and normalized.
func sampleSpec() -> TaskDefinitionSpec {
    switch TaskDefinitionValidator.decode(Array(sampleTaskDefinition.utf8)) {
    case .success(let spec): return spec
    case .failure(let problems): preconditionFailure("the sample must be valid: \(problems.message)")
    }
}

/// The problems `json` decodes to, or [] when it is valid.
func decodeProblems(_ json: String) -> [FieldProblem] {
    switch TaskDefinitionValidator.decode(Array(json.utf8)) {
    case .success: return []
    case .failure(let problems): return problems.problems
    }
}

@Suite("TaskDefinition model")
struct TaskDefinitionTests {
    @Test("a realistic ECS task definition decodes and validates clean")
    func sample() throws {
        let spec = try TaskDefinitionValidator.decode(Array(sampleTaskDefinition.utf8)).get()
        #expect(spec.family == "web-app")
        #expect(spec.cpuUnits == 512)
        #expect(spec.memoryMiB == 1024)
        #expect(spec.containerDefinitions.map(\.name) == ["web", "log-shipper"])
        let web = spec.containerDefinitions[0]
        #expect(
            web.portMappings == [ContainerDefinition.PortMapping(containerPort: 80, hostPort: 8080, protocol: "tcp")]
        )
        #expect(web.secrets?.first?.parameterName == "web-app/db-password")
        #expect(web.healthCheck?.startPeriod == 10)
        #expect(web.dockerLabels == ["team": "web", "tier": "frontend"])
        let shipper = spec.containerDefinitions[1]
        #expect(
            shipper.dependsOn == [ContainerDefinition.ContainerDependency(containerName: "web", condition: "HEALTHY")]
        )
        #expect(shipper.secrets?.first?.parameterName == "web-app/log-api-key")
        #expect(spec.volumes == [TaskDefinitionSpec.Volume(name: "html", host: .init(sourcePath: "/srv/web-app/html"))])
        #expect(TaskDefinitionValidator.validate(spec) == [])
    }

    @Test("unknown AWS fields are skipped and AWS-only known fields are kept")
    func awsFields() throws {
        let spec = try TaskDefinitionValidator.decode(Array(sampleWithAWSFields.utf8)).get()
        #expect(spec.requiresCompatibilities == ["EC2", "EXTERNAL"])
        #expect(spec.ephemeralStorage == TaskDefinitionSpec.EphemeralStorage(sizeInGiB: 21))
        #expect(spec.runtimePlatform?.cpuArchitecture == "ARM64")
        #expect(
            spec.proxyConfiguration?.properties == [ContainerDefinition.KeyValuePair(name: "AppPorts", value: "80")]
        )
        #expect(spec.inferenceAccelerators == [])
        let web = spec.containerDefinitions[0]
        #expect(web.links == ["legacy"])
        #expect(web.logConfiguration?.logDriver == "awslogs")
        #expect(web.portMappings?.first?.hostPort == 80)
    }

    @Test("decode applies the defaults; validate reads absent fields with them")
    func defaults() throws {
        let json = #"""
            {"family": "f", "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 32,
              "portMappings": [{"containerPort": 80}], "healthCheck": {"command": ["CMD", "true"]}}]}
            """#
        let spec = try TaskDefinitionValidator.decode(Array(json.utf8)).get()
        #expect(spec.networkMode == "bridge")
        let container = spec.containerDefinitions[0]
        #expect(container.essential == true)
        #expect(container.portMappings?.first?.protocol == "tcp")
        #expect(container.portMappings?.first?.hostPort == nil)
        #expect(
            container.healthCheck
                == ContainerDefinition.HealthCheck(
                    command: ["CMD", "true"],
                    interval: 30,
                    timeout: 5,
                    retries: 3,
                    startPeriod: 0
                )
        )
        #expect(container.healthCheck?.normalized() == container.healthCheck)
        #expect(spec.normalized() == spec)
    }

    @Test("normalized() fills only what is absent")
    func normalizedKeepsValues() {
        var container = ContainerDefinition(name: "a", image: "busybox")
        container.essential = false
        container.portMappings = [.init(containerPort: 53, protocol: "udp"), .init(containerPort: 80)]
        container.healthCheck = .init(command: ["CMD", "true"], interval: 60, retries: 5)
        var spec = TaskDefinitionSpec(family: "f", containerDefinitions: [container])
        spec.networkMode = "host"
        let normalized = spec.normalized()
        #expect(normalized.networkMode == "host")
        let result = normalized.containerDefinitions[0]
        #expect(result.essential == false)
        #expect(result.portMappings?.map(\.protocol) == ["udp", "tcp"])
        #expect(
            result.healthCheck == .init(command: ["CMD", "true"], interval: 60, timeout: 5, retries: 5, startPeriod: 0)
        )
        #expect(TaskDefinitionSpec(family: "f", containerDefinitions: []).normalized().networkMode == "bridge")
    }

    @Test(
        "task-level cpu and memory strings normalize to units and MiB",
        arguments: [
            ("256", 256), ("1024", 1024), (" 2048 ", 2048), ("1 vCPU", 1024), ("1vcpu", 1024), ("0.25 vCPU", 256),
            ("0.5 VCPU", 512), ("4 vCPU", 4096), ("0", nil), ("", nil), ("0.001 vCPU", nil), ("1.5", nil),
            ("256 units", nil), ("-256", nil), ("vCPU", nil), ("1. vCPU", nil), ("9999999999", nil),
        ] as [(String, Int?)]
    )
    func cpuUnits(text: String, units: Int?) {
        var spec = TaskDefinitionSpec(family: "f", containerDefinitions: [])
        spec.cpu = text
        #expect(spec.cpuUnits == units)
    }

    @Test(
        "memory strings normalize to MiB",
        arguments: [
            ("512", 512), ("1 GB", 1024), ("1GB", 1024), ("2 gb", 2048), ("0.5 GB", 512), ("1.5GB", 1536),
            ("0", nil), ("1 TB", nil), ("512 MiB", nil), ("0.0001 GB", nil), ("GB", nil),
        ] as [(String, Int?)]
    )
    func memoryMiB(text: String, mebibytes: Int?) {
        var spec = TaskDefinitionSpec(family: "f", containerDefinitions: [])
        spec.memory = text
        #expect(spec.memoryMiB == mebibytes)
        spec.memory = nil
        #expect(spec.memoryMiB == nil)
    }

    @Test("every problem is reported, in a fixed order")
    func multipleProblems() {
        let json = #"""
            {
              "family": "web app",
              "networkMode": "awsvpc",
              "containerDefinitions": [
                {"name": "web", "image": "", "essential": false, "memory": 4,
                 "portMappings": [{"containerPort": 0, "protocol": "sctp"}],
                 "healthCheck": {"command": ["curl"], "interval": 1}},
                {"name": "web", "image": "x", "essential": false, "memory": 64,
                 "dependsOn": [{"containerName": "db", "condition": "READY"}]}
              ],
              "requiresCompatibilities": ["FARGATE"],
              "tags": [{"key": "a"}, {"key": "a"}]
            }
            """#
        let problems = decodeProblems(json)
        #expect(
            problems.map(\.message) == [
                "family: must be 1-255 letters, digits, '-' or '_'",
                "containerDefinitions: must include at least one essential container",
                "containerDefinitions[0].image: must be 1-4096 characters",
                "containerDefinitions[0].memory: must be at least 6 MiB",
                "containerDefinitions[0].portMappings[0].containerPort: must be 1-65535",
                "containerDefinitions[0].portMappings[0].protocol: must be tcp or udp",
                "containerDefinitions[0].healthCheck.command: must start with CMD or CMD-SHELL followed by the command",
                "containerDefinitions[0].healthCheck.interval: must be 5-300",
                "containerDefinitions[1].name: duplicates containerDefinitions[0].name",
                "containerDefinitions[1].dependsOn[0].containerName: must name another container of the task",
                "containerDefinitions[1].dependsOn[0].condition: must be START, COMPLETE, SUCCESS or HEALTHY",
                "networkMode: awsvpc is AWS-only; supported: bridge, host, none",
                "requiresCompatibilities[0]: FARGATE is AWS-only; Gantry's on-premises launch type is EXTERNAL",
                "requiresCompatibilities: must include EXTERNAL, the on-premises launch type",
                "tags[1].key: duplicates tags[0].key",
            ]
        )
    }

    @Test(
        "JSON that does not fit the model gives one problem naming the field",
        arguments: [
            (
                #"{"family":"f","containerDefinitions":[{"name":"a","image":"b","cpu":"256"}]}"#,
                "containerDefinitions[0].cpu: must be an integer"
            ),
            (
                #"{"family":"f","containerDefinitions":[{"name":"a","image":"b","cpu":0.5}]}"#,
                "containerDefinitions[0].cpu: must be an integer"
            ),
            (
                #"{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":1e30}]}"#,
                "containerDefinitions[0].memory: must be an integer"
            ),
            (#"{"family":"f","cpu":256,"containerDefinitions":[]}"#, "cpu: must be a string"),
            (#"{"family":"f","containerDefinitions":[{"name":"a"}]}"#, "containerDefinitions[0].image: is required"),
            (#"{"containerDefinitions":[]}"#, "family: is required"),
            (#"{"family":null,"containerDefinitions":[]}"#, "family: must not be null; must be a string"),
            (#"{"family":"f","containerDefinitions":{}}"#, "containerDefinitions: must be an array"),
            (#"{"family":"f","containerDefinitions":[7]}"#, "containerDefinitions[0]: must be an object"),
            (
                #"{"family":"f","containerDefinitions":[],"tags":[{"key":"k","value":1}]}"#,
                "tags[0].value: must be a string"
            ),
            (
                #"{"family":"f","containerDefinitions":[{"name":"a","image":"b","privileged":"yes"}]}"#,
                "containerDefinitions[0].privileged: must be true or false"
            ),
            (
                #"{"family":"f","containerDefinitions":[{"name":"a","image":"b","dockerLabels":{"x":1}}]}"#,
                "containerDefinitions[0].dockerLabels.x: must be a string"
            ),
            (#"[]"#, "(root): must be an object"),
            (#"{"family": "f", "#, "(root): is not valid JSON"),
            (#""#, "(root): is not valid JSON"),
        ]
    )
    func decodingProblems(json: String, message: String) {
        #expect(decodeProblems(json).map(\.message) == [message])
    }

    @Test("canonical JSON round-trips and has sorted keys")
    func canonicalRoundTrip() throws {
        let spec = sampleSpec()
        let bytes = spec.canonicalJSON()
        #expect(try TaskDefinitionSpec.fromCanonicalJSON(bytes) == spec)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"containerDefinitions":[{"cpu":256,"dockerLabels":{"team":"web","tier":"frontend"}"#))
        #expect(text.contains(#""sourcePath":"/srv/web-app/html""#))
        #expect(!text.contains("\n"))
    }

    @Test("dictionary keys are encoded in sorted order, whatever the hash order")
    func canonicalDictionaryOrder() {
        var container = ContainerDefinition(name: "a", image: "busybox")
        let keys = (0..<40).map { "label-\($0)" }
        container.dockerLabels = Dictionary(uniqueKeysWithValues: keys.map { ($0, "v") })
        let text = String(
            decoding: TaskDefinitionSpec(family: "f", containerDefinitions: [container]).canonicalJSON(),
            as: UTF8.self
        )
        let positions = keys.sorted().map { text.firstRange(of: "\"\($0)\"")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test("equal specs encode to equal bytes, however they were written")
    func canonicalBytes() throws {
        let reordered = #"""
            { "tags": [{ "value": "web", "key": "team" }], "family": "web-app", "memory": "1 GB", "cpu": "512",
              "containerDefinitions": [
                { "image": "fluent/fluent-bit:3.0", "name": "log-shipper", "memoryReservation": 64,
                  "dependsOn": [{ "condition": "HEALTHY", "containerName": "web" }], "essential": false,
                  "secrets": [{ "valueFrom": "web-app/log-api-key", "name": "API_KEY" }] }
              ] }
            """#
        // Alone, the log shipper's dependency dangles; fromCanonicalJSON decodes without validating.
        var fromJSON = try TaskDefinitionSpec.fromCanonicalJSON(Array(reordered.utf8))
        var web = sampleSpec().containerDefinitions[0]
        web.mountPoints = nil
        fromJSON.containerDefinitions.insert(web, at: 0)
        fromJSON = fromJSON.normalized()
        #expect(TaskDefinitionValidator.validate(fromJSON) == [])

        var built = sampleSpec()
        built.containerDefinitions[0].dockerLabels = ["tier": "frontend", "team": "web"]
        built.networkMode = "bridge"
        built.requiresCompatibilities = nil
        built.executionRoleArn = nil
        built.taskRoleArn = nil
        built.volumes = nil
        built.placementConstraints = nil
        built.containerDefinitions[0].mountPoints = nil
        #expect(built == fromJSON)
        // Compared as text so a failure shows a readable difference.
        #expect(
            String(decoding: built.canonicalJSON(), as: UTF8.self)
                == String(decoding: fromJSON.canonicalJSON(), as: UTF8.self)
        )
        #expect(built.canonicalJSON() == fromJSON.canonicalJSON())
        built.tags = [.init(key: "team", value: "ops")]
        #expect(built.canonicalJSON() != fromJSON.canonicalJSON())
    }

    @Test("fromCanonicalJSON does not validate, and refuses bytes that are not a spec")
    func canonicalDecodingErrors() throws {
        let invalid = TaskDefinitionSpec(family: "not valid!", containerDefinitions: [])
        #expect(try TaskDefinitionSpec.fromCanonicalJSON(invalid.canonicalJSON()) == invalid)
        #expect(throws: TaskDefinitionProblems([FieldProblem(field: "family", rule: "is required")])) {
            try TaskDefinitionSpec.fromCanonicalJSON(Array(#"{"containerDefinitions":[]}"#.utf8))
        }
        #expect(throws: TaskDefinitionProblems.self) { try TaskDefinitionSpec.fromCanonicalJSON([0xFF, 0x00]) }
    }

    @Test("a problem's message is its field and rule")
    func problemMessage() {
        let problem = FieldProblem(
            field: "containerDefinitions[1].portMappings[0].containerPort",
            rule: "must be 1-65535"
        )
        #expect(problem.message == "containerDefinitions[1].portMappings[0].containerPort: must be 1-65535")
        let problems = TaskDefinitionProblems([problem, FieldProblem(field: "family", rule: "is required")])
        #expect(problems.message == "\(problem.message)\nfamily: is required")
    }
}
