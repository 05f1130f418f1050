/// One container of a task definition: ECS `ContainerDefinition` with ECS's field names. Fields Gantry does not know
/// (`linuxParameters`, `repositoryCredentials`, `resourceRequirements`, ...) are skipped by the decoder.
///
/// Ignored though accepted: `links` (legacy Docker links; containers of a bridge-mode task reach each other by the
/// ports they publish) and the `awslogs` log driver (there is no CloudWatch on premises; output goes to the default
/// driver).
package struct ContainerDefinition: Sendable, Equatable, Codable {
    /// The container's name: 1 to 255 ASCII letters, digits, `-` and `_`, unique in the task.
    package var name: String
    /// The image reference, as `docker pull` takes it: 1 to 4096 characters.
    package var image: String
    /// CPU units reserved for the container (1024 per vCPU): 0 to 10240.
    package var cpu: Int?
    /// The hard memory limit in MiB; at least 6 (Docker's minimum).
    package var memory: Int?
    /// The soft memory limit (the amount the scheduler reserves) in MiB; at least 6 and at most `memory`.
    /// Invariant (after validation): a container has `memory` or `memoryReservation`, unless the task sets `memory`.
    package var memoryReservation: Int?
    /// Ports to publish on the host.
    package var portMappings: [PortMapping]?
    /// Whether the task stops when this container stops; defaults to true. A task needs an essential container.
    package var essential: Bool?
    /// Overrides the image's entry point.
    package var entryPoint: [String]?
    /// Overrides the image's command.
    package var command: [String]?
    /// Plain environment variables.
    package var environment: [KeyValuePair]?
    /// Environment variables whose values come from Gantry's parameter store at task start.
    package var secrets: [Secret]?
    /// Docker's health check for the container.
    package var healthCheck: HealthCheck?
    /// Seconds between SIGTERM and SIGKILL when the container is stopped: 2 to 120.
    package var stopTimeout: Int?
    /// Docker labels.
    package var dockerLabels: [String: String]?
    /// The log driver and its options.
    package var logConfiguration: LogConfiguration?
    /// Containers that must reach a state before this one starts.
    package var dependsOn: [ContainerDependency]?
    /// Resource limits (`ulimit`).
    package var ulimits: [Ulimit]?
    /// The working directory inside the container.
    package var workingDirectory: String?
    /// The user (and optionally group) to run as: `user`, `uid`, `user:group`, `uid:gid`, ...
    package var user: String?
    /// The container's hostname; not allowed in host network mode.
    package var hostname: String?
    /// Whether the container runs privileged.
    package var privileged: Bool?
    /// Whether the root file system is mounted read-only.
    package var readonlyRootFilesystem: Bool?
    /// Ignored: legacy Docker links.
    package var links: [String]?
    /// Task volumes mounted into the container.
    package var mountPoints: [MountPoint]?

    /// Creates a container with the required fields; set the others afterwards.
    package init(name: String, image: String) {
        self.name = name
        self.image = image
    }

    /// Whether the container is essential, with ECS's default (true) when `essential` is absent.
    package var isEssential: Bool { essential ?? true }

    /// This container with ECS's defaults written out: `essential` true, port protocol `tcp`, health-check defaults.
    package func normalized() -> ContainerDefinition {
        var container = self
        if container.essential == nil { container.essential = true }
        if let mappings = container.portMappings {
            container.portMappings = mappings.map { mapping in
                var mapping = mapping
                if mapping.protocol == nil { mapping.protocol = PortMapping.defaultProtocol }
                return mapping
            }
        }
        container.healthCheck = container.healthCheck?.normalized()
        return container
    }
}

extension ContainerDefinition {
    /// A published port (ECS `PortMapping`).
    package struct PortMapping: Sendable, Equatable, Codable {
        /// The port inside the container: 1 to 65535.
        package var containerPort: Int
        /// The port on the host: 0 to 65535. In bridge mode, absent or 0 means a dynamic port; in host mode it must
        /// be absent or equal `containerPort`.
        package var hostPort: Int?
        /// `tcp` (the default) or `udp`.
        package var `protocol`: String?

        /// The default protocol (ECS's).
        package static let defaultProtocol = "tcp"

        /// Creates a port mapping.
        package init(containerPort: Int, hostPort: Int? = nil, protocol: String? = nil) {
            self.containerPort = containerPort
            self.hostPort = hostPort
            self.protocol = `protocol`
        }
    }

    /// A plain environment variable (ECS `KeyValuePair`).
    package struct KeyValuePair: Sendable, Equatable, Codable {
        /// The variable's name; non-empty and unique among the container's environment and secrets.
        package var name: String
        /// The value.
        package var value: String

        /// Creates a variable.
        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// An environment variable read from the parameter store at task start (ECS `Secret`).
    package struct Secret: Sendable, Equatable, Codable {
        /// The variable's name; non-empty and unique among the container's environment and secrets.
        package var name: String
        /// A parameter name (`app/db-password`) or an SSM-style ARN ending in `:parameter/NAME`.
        package var valueFrom: String

        /// Creates a secret.
        package init(name: String, valueFrom: String) {
            self.name = name
            self.valueFrom = valueFrom
        }

        /// The parameter `valueFrom` names: the text after `:parameter/` in an ARN (`arn:aws:ssm:eu-west-1:1:parameter/
        /// app/db` names `app/db`), or `valueFrom` itself.
        package var parameterName: String {
            var name = valueFrom
            if valueFrom.hasPrefix("arn:"), let marker = valueFrom.firstRange(of: ":parameter/") {
                name = String(valueFrom[marker.upperBound...])
            }
            // SSM names are often written with a leading '/' ("/app/db"); ours are the same path without it.
            if name.hasPrefix("/") { name.removeFirst() }
            return name
        }
    }

    /// Docker's health check (ECS `HealthCheck`). Times are in seconds.
    package struct HealthCheck: Sendable, Equatable, Codable {
        /// `["CMD", executable, args...]` or `["CMD-SHELL", "shell command"]`.
        package var command: [String]
        /// Seconds between checks: 5 to 300, default 30.
        package var interval: Int?
        /// Seconds a check may take: 2 to 60, default 5; less than `interval`.
        package var timeout: Int?
        /// Consecutive failures before the container is unhealthy: 1 to 10, default 3.
        package var retries: Int?
        /// Grace period after start during which failures do not count: 0 to 300, default 0.
        package var startPeriod: Int?

        /// ECS's default interval.
        package static let defaultInterval = 30
        /// ECS's default timeout.
        package static let defaultTimeout = 5
        /// ECS's default retries.
        package static let defaultRetries = 3
        /// ECS's default start period.
        package static let defaultStartPeriod = 0

        /// Creates a health check.
        package init(
            command: [String],
            interval: Int? = nil,
            timeout: Int? = nil,
            retries: Int? = nil,
            startPeriod: Int? = nil
        ) {
            self.command = command
            self.interval = interval
            self.timeout = timeout
            self.retries = retries
            self.startPeriod = startPeriod
        }

        /// This check with the defaults written out.
        package func normalized() -> HealthCheck {
            HealthCheck(
                command: command,
                interval: interval ?? Self.defaultInterval,
                timeout: timeout ?? Self.defaultTimeout,
                retries: retries ?? Self.defaultRetries,
                startPeriod: startPeriod ?? Self.defaultStartPeriod
            )
        }
    }

    /// The log driver (ECS `LogConfiguration`; `secretOptions` is dropped).
    package struct LogConfiguration: Sendable, Equatable, Codable {
        /// One of `json-file`, `syslog`, `journald`, `gelf`, `fluentd`, `awslogs` (accepted, ignored), `splunk`,
        /// `none`.
        package var logDriver: String
        /// Driver options, passed to Docker as `--log-opt`.
        package var options: [String: String]?

        /// Creates a log configuration.
        package init(logDriver: String, options: [String: String]? = nil) {
            self.logDriver = logDriver
            self.options = options
        }
    }

    /// A start-order dependency (ECS `ContainerDependency`).
    package struct ContainerDependency: Sendable, Equatable, Codable {
        /// Another container of the task.
        package var containerName: String
        /// `START`, `COMPLETE` (the other container must be non-essential), `SUCCESS` (likewise) or `HEALTHY` (the
        /// other container must have a health check).
        package var condition: String

        /// Creates a dependency.
        package init(containerName: String, condition: String) {
            self.containerName = containerName
            self.condition = condition
        }
    }

    /// A resource limit (ECS `Ulimit`).
    package struct Ulimit: Sendable, Equatable, Codable {
        /// One of Docker's names: `core`, `cpu`, `data`, `fsize`, `locks`, `memlock`, `msgqueue`, `nice`, `nofile`,
        /// `nproc`, `rss`, `rtprio`, `rttime`, `sigpending`, `stack`.
        package var name: String
        /// The soft limit; at most `hardLimit`.
        package var softLimit: Int
        /// The hard limit.
        package var hardLimit: Int

        /// Creates a limit.
        package init(name: String, softLimit: Int, hardLimit: Int) {
            self.name = name
            self.softLimit = softLimit
            self.hardLimit = hardLimit
        }
    }

    /// A task volume mounted into the container (ECS `MountPoint`).
    package struct MountPoint: Sendable, Equatable, Codable {
        /// The name of one of the task's `volumes`.
        package var sourceVolume: String
        /// An absolute path inside the container.
        package var containerPath: String
        /// Whether the mount is read-only; default false.
        package var readOnly: Bool?

        /// Creates a mount point.
        package init(sourceVolume: String, containerPath: String, readOnly: Bool? = nil) {
            self.sourceVolume = sourceVolume
            self.containerPath = containerPath
            self.readOnly = readOnly
        }
    }
}
