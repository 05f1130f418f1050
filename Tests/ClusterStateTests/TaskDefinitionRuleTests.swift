import ClusterState
import Testing

/// One validation rule broken once: a change to the valid sample and the single problem it must cause.
struct RuleCase: Sendable, CustomTestStringConvertible {
    /// Which rule this case checks; several cases may check one rule.
    var rule: String
    /// The expected problem.
    var expected: FieldProblem
    /// Breaks the rule in the sample (index 0 is `web`, index 1 is `log-shipper`).
    var mutate: @Sendable (inout TaskDefinitionSpec) -> Void

    /// A case expecting `field: text` after `mutate`.
    init(
        _ rule: String,
        _ field: String,
        _ text: String,
        _ mutate: @escaping @Sendable (inout TaskDefinitionSpec) -> Void
    ) {
        self.rule = rule
        self.expected = FieldProblem(field: field, rule: text)
        self.mutate = mutate
    }

    /// The rule and the expected message, for test reports.
    var testDescription: String { "\(rule) → \(expected.message)" }
}

private let nameRule = "must be 1-255 letters, digits, '-' or '_'"
private let web = 0
private let shipper = 1

/// Edits container `index` of `spec`.
private func edit(_ spec: inout TaskDefinitionSpec, _ index: Int, _ change: (inout ContainerDefinition) -> Void) {
    change(&spec.containerDefinitions[index])
}

let ruleCases: [RuleCase] = [
    // Task level.
    RuleCase("family name", "family", nameRule) { $0.family = "" },
    RuleCase("family name", "family", nameRule) { $0.family = "web app" },
    RuleCase("family name", "family", nameRule) { $0.family = String(repeating: "f", count: 256) },
    RuleCase("container count", "containerDefinitions", "must have 1-10 entries") { $0.containerDefinitions = [] },
    RuleCase("container count", "containerDefinitions", "must have 1-10 entries") { spec in
        let template = spec.containerDefinitions[shipper]
        spec.containerDefinitions = [spec.containerDefinitions[web]]
        for number in 0..<10 {
            var copy = template
            copy.name = "shipper-\(number)"
            spec.containerDefinitions.append(copy)
        }
    },
    RuleCase("an essential container", "containerDefinitions", "must include at least one essential container") {
        edit(&$0, web) { $0.essential = false }
    },
    RuleCase("task cpu parses", "cpu", "must be CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\"") {
        $0.cpu = "lots"
    },
    RuleCase("task cpu parses", "cpu", "must be CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\"") {
        $0.cpu = "0"
    },
    RuleCase("task memory parses", "memory", "must be MiB such as \"512\" or GB such as \"1 GB\"") {
        $0.memory = "1 TB"
    },
    RuleCase("task cpu covers containers", "cpu", "must be at least the containers' total cpu (256 units)") {
        $0.cpu = "0.125 vCPU"
    },
    RuleCase("task memory covers containers", "memory", "must be at least the containers' total memory (320 MiB)") {
        $0.memory = "300"
        edit(&$0, web) { $0.memory = nil }
    },
    RuleCase("awsvpc refused", "networkMode", "awsvpc is AWS-only; supported: bridge, host, none") {
        $0.networkMode = "awsvpc"
    },
    RuleCase("network mode", "networkMode", "must be bridge, host or none") { $0.networkMode = "nat" },
    RuleCase("pid mode", "pidMode", "must be host or task") { $0.pidMode = "container" },
    RuleCase("ipc mode", "ipcMode", "must be host, task or none") { $0.ipcMode = "shareable" },
    RuleCase("placement type", "placementConstraints[0].type", "must be memberOf or distinctInstance") {
        $0.placementConstraints = [.init(type: "spread")]
    },
    RuleCase("memberOf expression", "placementConstraints[0].expression", "is required for memberOf") {
        $0.placementConstraints = [.init(type: "memberOf")]
    },
    RuleCase("memberOf expression", "placementConstraints[0].expression", "is required for memberOf") {
        $0.placementConstraints = [.init(type: "memberOf", expression: "")]
    },
    RuleCase(
        "distinctInstance expression",
        "placementConstraints[0].expression",
        "must be omitted for distinctInstance"
    ) { $0.placementConstraints = [.init(type: "distinctInstance", expression: "attribute:zone == a")] },
    RuleCase("placement count", "placementConstraints", "must have at most 10 entries") {
        $0.placementConstraints = Array(repeating: .init(type: "distinctInstance"), count: 11)
    },
    RuleCase("volume name", "volumes[1].name", nameRule) { $0.volumes?.append(.init(name: "")) },
    RuleCase("volume name", "volumes[1].name", nameRule) { $0.volumes?.append(.init(name: "my data")) },
    RuleCase("volume names unique", "volumes[1].name", "duplicates volumes[0].name") {
        $0.volumes?.append(.init(name: "html"))
    },
    RuleCase("volume source path", "volumes[0].host.sourcePath", "must be an absolute path") {
        $0.volumes = [.init(name: "html", host: .init(sourcePath: "srv/html"))]
    },
    RuleCase(
        "FARGATE refused",
        "requiresCompatibilities[0]",
        "FARGATE is AWS-only; Gantry's on-premises launch type is EXTERNAL"
    ) { $0.requiresCompatibilities = ["FARGATE", "EXTERNAL"] },
    RuleCase(
        "launch types known",
        "requiresCompatibilities[1]",
        "must be EXTERNAL (the on-premises launch type) or EC2"
    ) { $0.requiresCompatibilities = ["EXTERNAL", "LOCAL"] },
    RuleCase(
        "EXTERNAL required",
        "requiresCompatibilities",
        "must include EXTERNAL, the on-premises launch type"
    ) { $0.requiresCompatibilities = ["EC2"] },
    RuleCase("tag count", "tags", "must have at most 50 entries") { spec in
        spec.tags = (0...50).map { .init(key: "k\($0)", value: "v") }
    },
    RuleCase("tag key length", "tags[0].key", "must be 1-128 characters") { $0.tags = [.init(key: "")] },
    RuleCase("tag key length", "tags[0].key", "must be 1-128 characters") {
        $0.tags = [.init(key: String(repeating: "k", count: 129))]
    },
    RuleCase("tag value length", "tags[0].value", "must be at most 256 characters") {
        $0.tags = [.init(key: "k", value: String(repeating: "v", count: 257))]
    },
    RuleCase("tag keys unique", "tags[1].key", "duplicates tags[0].key") {
        $0.tags = [.init(key: "team", value: "a"), .init(key: "team", value: "b")]
    },

    // Containers: identity and resources.
    RuleCase("container name", "containerDefinitions[1].name", nameRule) {
        edit(&$0, shipper) { $0.name = "log shipper" }
    },
    RuleCase("container name", "containerDefinitions[1].name", nameRule) { edit(&$0, shipper) { $0.name = "" } },
    RuleCase("container names unique", "containerDefinitions[1].name", "duplicates containerDefinitions[0].name") {
        edit(&$0, shipper) {
            $0.name = "web"
            $0.dependsOn = nil
        }
    },
    RuleCase("image", "containerDefinitions[0].image", "must be 1-4096 characters") {
        edit(&$0, web) { $0.image = "" }
    },
    RuleCase("image", "containerDefinitions[0].image", "must be 1-4096 characters") {
        edit(&$0, web) { $0.image = String(repeating: "i", count: 4097) }
    },
    RuleCase("container cpu", "containerDefinitions[0].cpu", "must be 0-10240") { edit(&$0, web) { $0.cpu = -1 } },
    RuleCase("container cpu", "containerDefinitions[0].cpu", "must be 0-10240") {
        $0.cpu = nil
        edit(&$0, web) { $0.cpu = 10_241 }
    },
    RuleCase("container memory minimum", "containerDefinitions[0].memory", "must be at least 6 MiB") {
        edit(&$0, web) {
            $0.memory = 5
            $0.memoryReservation = nil
        }
    },
    RuleCase("container memory minimum", "containerDefinitions[1].memoryReservation", "must be at least 6 MiB") {
        edit(&$0, shipper) { $0.memoryReservation = 5 }
    },
    RuleCase(
        "reservation within limit",
        "containerDefinitions[0].memoryReservation",
        "must not exceed memory (512 MiB)"
    ) { edit(&$0, web) { $0.memoryReservation = 600 } },
    RuleCase(
        "container memory required",
        "containerDefinitions[1].memory",
        "is required when neither memoryReservation nor the task's memory is set"
    ) {
        $0.memory = nil
        edit(&$0, shipper) { $0.memoryReservation = nil }
    },
    RuleCase(
        "container memory within task",
        "containerDefinitions[0].memory",
        "must not exceed the task's memory (1024 MiB)"
    ) { edit(&$0, web) { $0.memory = 2048 } },

    // Ports.
    RuleCase("container port", "containerDefinitions[0].portMappings[0].containerPort", "must be 1-65535") {
        edit(&$0, web) { $0.portMappings = [.init(containerPort: 0)] }
    },
    RuleCase("container port", "containerDefinitions[0].portMappings[0].containerPort", "must be 1-65535") {
        edit(&$0, web) { $0.portMappings = [.init(containerPort: 65_536)] }
    },
    RuleCase("host port", "containerDefinitions[0].portMappings[0].hostPort", "must be 0-65535") {
        edit(&$0, web) { $0.portMappings = [.init(containerPort: 80, hostPort: -1)] }
    },
    RuleCase("host port", "containerDefinitions[0].portMappings[0].hostPort", "must be 0-65535") {
        edit(&$0, web) { $0.portMappings = [.init(containerPort: 80, hostPort: 70_000)] }
    },
    RuleCase("port protocol", "containerDefinitions[0].portMappings[0].protocol", "must be tcp or udp") {
        edit(&$0, web) { $0.portMappings = [.init(containerPort: 80, protocol: "sctp")] }
    },
    RuleCase(
        "host ports unique",
        "containerDefinitions[1].portMappings[0].hostPort",
        "duplicates containerDefinitions[0].portMappings[0].hostPort (8080/tcp)"
    ) { edit(&$0, shipper) { $0.portMappings = [.init(containerPort: 9000, hostPort: 8080)] } },
    RuleCase(
        "host ports unique",
        "containerDefinitions[0].portMappings[1].hostPort",
        "duplicates containerDefinitions[0].portMappings[0].hostPort (80/udp)"
    ) {
        $0.networkMode = "host"
        edit(&$0, web) {
            $0.portMappings = [
                .init(containerPort: 80, protocol: "udp"), .init(containerPort: 80, hostPort: 80, protocol: "udp"),
            ]
        }
    },
    RuleCase(
        "host mode host port",
        "containerDefinitions[0].portMappings[0].hostPort",
        "must equal containerPort (80) in host network mode"
    ) { $0.networkMode = "host" },
    RuleCase("none mode ports", "containerDefinitions[0].portMappings", "must be empty in none network mode") {
        $0.networkMode = "none"
    },
    RuleCase("host mode hostname", "containerDefinitions[0].hostname", "must be omitted in host network mode") {
        $0.networkMode = "host"
        edit(&$0, web) {
            $0.portMappings = [.init(containerPort: 80)]
            $0.hostname = "web"
        }
    },

    // Environment and secrets.
    RuleCase("variable name", "containerDefinitions[0].environment[0].name", "must not be empty") {
        edit(&$0, web) { $0.environment = [.init(name: "", value: "x")] }
    },
    RuleCase("variable name", "containerDefinitions[1].secrets[0].name", "must not be empty") {
        edit(&$0, shipper) { $0.secrets = [.init(name: "", valueFrom: "web-app/key")] }
    },
    RuleCase(
        "variable names unique",
        "containerDefinitions[0].secrets[0].name",
        "duplicates containerDefinitions[0].environment[0].name"
    ) { edit(&$0, web) { $0.secrets = [.init(name: "NGINX_PORT", valueFrom: "web-app/port")] } },
    RuleCase(
        "variable names unique",
        "containerDefinitions[0].environment[1].name",
        "duplicates containerDefinitions[0].environment[0].name"
    ) { edit(&$0, web) { $0.environment?.append(.init(name: "NGINX_PORT", value: "81")) } },
    RuleCase(
        "secret parameter name",
        "containerDefinitions[1].secrets[0].valueFrom",
        "parameter name must not start or end with '/' or contain '//'"
    ) { edit(&$0, shipper) { $0.secrets = [.init(name: "API_KEY", valueFrom: "web-app//key")] } },
    RuleCase(
        "secret parameter name",
        "containerDefinitions[1].secrets[0].valueFrom",
        "parameter name may contain only letters, digits, '-', '_', '.' and '/' (found ' ')"
    ) { edit(&$0, shipper) { $0.secrets = [.init(name: "API_KEY", valueFrom: "api key")] } },
    RuleCase(
        "secret parameter name",
        "containerDefinitions[0].secrets[0].valueFrom",
        "parameter name must not be empty"
    ) { edit(&$0, web) { $0.secrets = [.init(name: "DB", valueFrom: "arn:aws:ssm:eu-west-1:1:parameter/")] } },
    RuleCase(
        "secret ARN form",
        "containerDefinitions[0].secrets[0].valueFrom",
        "must be a parameter name or an ARN ending in :parameter/NAME"
    ) {
        edit(&$0, web) { $0.secrets = [.init(name: "DB", valueFrom: "arn:aws:secretsmanager:eu-west-1:1:secret:db")] }
    },

    // Health check and stop timeout.
    RuleCase(
        "health command",
        "containerDefinitions[0].healthCheck.command",
        "must start with CMD or CMD-SHELL followed by the command"
    ) { edit(&$0, web) { $0.healthCheck?.command = ["curl", "-f", "http://localhost/"] } },
    RuleCase(
        "health command",
        "containerDefinitions[0].healthCheck.command",
        "must start with CMD or CMD-SHELL followed by the command"
    ) { edit(&$0, web) { $0.healthCheck?.command = ["CMD"] } },
    RuleCase(
        "health command",
        "containerDefinitions[0].healthCheck.command",
        "must start with CMD or CMD-SHELL followed by the command"
    ) { edit(&$0, web) { $0.healthCheck?.command = [] } },
    RuleCase("health interval", "containerDefinitions[0].healthCheck.interval", "must be 5-300") {
        edit(&$0, web) { $0.healthCheck?.interval = 4 }
    },
    RuleCase("health interval", "containerDefinitions[0].healthCheck.interval", "must be 5-300") {
        edit(&$0, web) { $0.healthCheck?.interval = 301 }
    },
    RuleCase("health timeout", "containerDefinitions[0].healthCheck.timeout", "must be 2-60") {
        edit(&$0, web) { $0.healthCheck?.timeout = 1 }
    },
    RuleCase("health timeout", "containerDefinitions[0].healthCheck.timeout", "must be 2-60") {
        edit(&$0, web) { $0.healthCheck?.timeout = 61 }
    },
    RuleCase("health retries", "containerDefinitions[0].healthCheck.retries", "must be 1-10") {
        edit(&$0, web) { $0.healthCheck?.retries = 0 }
    },
    RuleCase("health retries", "containerDefinitions[0].healthCheck.retries", "must be 1-10") {
        edit(&$0, web) { $0.healthCheck?.retries = 11 }
    },
    RuleCase("health start period", "containerDefinitions[0].healthCheck.startPeriod", "must be 0-300") {
        edit(&$0, web) { $0.healthCheck?.startPeriod = -1 }
    },
    RuleCase("health start period", "containerDefinitions[0].healthCheck.startPeriod", "must be 0-300") {
        edit(&$0, web) { $0.healthCheck?.startPeriod = 301 }
    },
    RuleCase(
        "health timeout below interval",
        "containerDefinitions[0].healthCheck.timeout",
        "must be less than interval (30)"
    ) { edit(&$0, web) { $0.healthCheck?.timeout = 30 } },
    RuleCase(
        "health timeout below interval",
        "containerDefinitions[0].healthCheck.timeout",
        "must be less than interval (30)"
    ) { edit(&$0, web) { $0.healthCheck = .init(command: ["CMD", "true"], timeout: 45) } },
    RuleCase("stop timeout", "containerDefinitions[0].stopTimeout", "must be 2-120") {
        edit(&$0, web) { $0.stopTimeout = 1 }
    },
    RuleCase("stop timeout", "containerDefinitions[0].stopTimeout", "must be 2-120") {
        edit(&$0, web) { $0.stopTimeout = 121 }
    },

    // Dependencies.
    RuleCase(
        "dependency names another container",
        "containerDefinitions[1].dependsOn[0].containerName",
        "must name another container of the task"
    ) { edit(&$0, shipper) { $0.dependsOn = [.init(containerName: "db", condition: "START")] } },
    RuleCase(
        "dependency names another container",
        "containerDefinitions[1].dependsOn[0].containerName",
        "must name another container of the task"
    ) { edit(&$0, shipper) { $0.dependsOn = [.init(containerName: "log-shipper", condition: "START")] } },
    RuleCase(
        "dependency condition",
        "containerDefinitions[1].dependsOn[0].condition",
        "must be START, COMPLETE, SUCCESS or HEALTHY"
    ) { edit(&$0, shipper) { $0.dependsOn = [.init(containerName: "web", condition: "READY")] } },
    RuleCase(
        "HEALTHY needs a health check",
        "containerDefinitions[1].dependsOn[0].condition",
        "HEALTHY requires container 'web' to have a healthCheck"
    ) { edit(&$0, web) { $0.healthCheck = nil } },
    RuleCase(
        "COMPLETE/SUCCESS need a non-essential container",
        "containerDefinitions[1].dependsOn[0].condition",
        "COMPLETE requires container 'web' to be non-essential"
    ) { edit(&$0, shipper) { $0.dependsOn = [.init(containerName: "web", condition: "COMPLETE")] } },
    RuleCase(
        "COMPLETE/SUCCESS need a non-essential container",
        "containerDefinitions[1].dependsOn[0].condition",
        "SUCCESS requires container 'web' to be non-essential"
    ) { edit(&$0, shipper) { $0.dependsOn = [.init(containerName: "web", condition: "SUCCESS")] } },
    RuleCase(
        "no dependency cycles",
        "containerDefinitions[0].dependsOn",
        "forms a cycle: web -> log-shipper -> web"
    ) { edit(&$0, web) { $0.dependsOn = [.init(containerName: "log-shipper", condition: "START")] } },

    // Ulimits, logging, mounts.
    RuleCase(
        "ulimit name",
        "containerDefinitions[0].ulimits[0].name",
        "must be one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, "
            + "sigpending, stack"
    ) { edit(&$0, web) { $0.ulimits = [.init(name: "files", softLimit: 1, hardLimit: 1)] } },
    RuleCase(
        "ulimit soft within hard",
        "containerDefinitions[0].ulimits[0].softLimit",
        "must not exceed hardLimit (65536)"
    ) { edit(&$0, web) { $0.ulimits = [.init(name: "nofile", softLimit: 70_000, hardLimit: 65_536)] } },
    RuleCase(
        "log driver",
        "containerDefinitions[0].logConfiguration.logDriver",
        "must be one of json-file, syslog, journald, gelf, fluentd, awslogs, splunk, none"
    ) { edit(&$0, web) { $0.logConfiguration = .init(logDriver: "syslog-ng") } },
    RuleCase("mount volume", "containerDefinitions[0].mountPoints[0].sourceVolume", "must name a volume of the task") {
        edit(&$0, web) { $0.mountPoints = [.init(sourceVolume: "data", containerPath: "/data")] }
    },
    RuleCase("mount path", "containerDefinitions[0].mountPoints[0].containerPath", "must be an absolute path") {
        edit(&$0, web) { $0.mountPoints = [.init(sourceVolume: "html", containerPath: "html")] }
    },
]

@Suite("TaskDefinition validation rules")
struct TaskDefinitionRuleTests {
    @Test("each rule, broken alone, gives exactly its problem", arguments: ruleCases)
    func rule(_ testCase: RuleCase) {
        var spec = sampleSpec()
        testCase.mutate(&spec)
        #expect(TaskDefinitionValidator.validate(spec) == [testCase.expected])
    }

    @Test("the rule table covers 61 distinct rules")
    func ruleCount() {
        #expect(Set(ruleCases.map(\.rule)).count == 61)
    }

    @Test("extreme numbers are reported, never trapped on")
    func extremeNumbers() {
        var spec = sampleSpec()
        spec.cpu = "999999999"
        spec.memory = "9999999999 GB"
        for index in spec.containerDefinitions.indices {
            edit(&spec, index) {
                $0.cpu = Int.max
                $0.memory = Int.max
                $0.memoryReservation = Int.max
                $0.stopTimeout = Int.min
                $0.portMappings = [.init(containerPort: Int.min, hostPort: Int.max)]
                $0.healthCheck = .init(command: ["CMD", "x"], interval: Int.max, timeout: Int.min, retries: Int.max)
                $0.ulimits = [.init(name: "nofile", softLimit: Int.max, hardLimit: Int.min)]
            }
        }
        let problems = TaskDefinitionValidator.validate(spec)
        #expect(
            problems.contains(FieldProblem(field: "memory", rule: "must be MiB such as \"512\" or GB such as \"1 GB\""))
        )
        #expect(
            problems.contains(
                FieldProblem(field: "cpu", rule: "must be at least the containers' total cpu (\(Int.max) units)")
            )
        )
        #expect(problems.count > 10)
    }

    @Test("variations ECS allows stay valid")
    func allowedVariations() {
        let variations: [(String, @Sendable (inout TaskDefinitionSpec) -> Void)] = [
            ("EC2 beside EXTERNAL", { $0.requiresCompatibilities = ["EC2", "EXTERNAL"] }),
            ("no launch types", { $0.requiresCompatibilities = [] }),
            ("vCPU strings", { $0.cpu = "0.25 vCPU" }),
            ("GB without a space", { $0.memory = "1GB" }),
            ("awslogs is accepted", { edit(&$0, web) { $0.logConfiguration = .init(logDriver: "awslogs") } }),
            (
                "same port, other protocol",
                {
                    edit(&$0, shipper) {
                        $0.portMappings = [.init(containerPort: 8080, hostPort: 8080, protocol: "udp")]
                    }
                }
            ),
            (
                "dynamic host ports repeat",
                {
                    edit(&$0, web) {
                        $0.portMappings = [.init(containerPort: 80, hostPort: 0), .init(containerPort: 81)]
                    }
                    edit(&$0, shipper) { $0.portMappings = [.init(containerPort: 80, hostPort: 0)] }
                }
            ),
            (
                "host mode with host port omitted",
                {
                    $0.networkMode = "host"
                    edit(&$0, web) { $0.portMappings = [.init(containerPort: 80)] }
                }
            ),
            (
                "host mode with equal host port",
                {
                    $0.networkMode = "host"
                    edit(&$0, web) { $0.portMappings = [.init(containerPort: 80, hostPort: 80)] }
                }
            ),
            (
                "none mode without ports",
                {
                    $0.networkMode = "none"
                    edit(&$0, web) { $0.portMappings = [] }
                }
            ),
            (
                "only task memory",
                {
                    edit(&$0, web) {
                        $0.memory = nil
                        $0.memoryReservation = nil
                    }
                    edit(&$0, shipper) { $0.memoryReservation = nil }
                }
            ),
            (
                "COMPLETE on a non-essential container",
                {
                    edit(&$0, web) { $0.dependsOn = [.init(containerName: "log-shipper", condition: "COMPLETE")] }
                    edit(&$0, shipper) { $0.dependsOn = nil }
                }
            ),
            ("distinctInstance", { $0.placementConstraints = [.init(type: "distinctInstance")] }),
            (
                "plain parameter name and empty tag value",
                {
                    edit(&$0, web) { $0.secrets = [.init(name: "DB", valueFrom: "web-app/db.password")] }
                    $0.tags = [.init(key: "k", value: ""), .init(key: "l")]
                }
            ),
            ("a volume without a host path", { $0.volumes = [.init(name: "html")] }),
        ]
        for (name, mutate) in variations {
            var spec = sampleSpec()
            mutate(&spec)
            #expect(TaskDefinitionValidator.validate(spec) == [], "\(name)")
        }
    }
}
