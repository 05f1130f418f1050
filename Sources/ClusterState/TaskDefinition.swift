#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A task definition as an operator registers it: the request body of ECS `RegisterTaskDefinition`, with ECS's field
/// names, so an existing ECS task definition JSON file decodes unchanged. Fields Gantry does not know are skipped by
/// the decoder (and so are not kept).
///
/// Optional fields stay nil when absent; `normalized()` fills in ECS's defaults. Check a spec with
/// `TaskDefinitionValidator.validate(_:)` before use.
///
/// Accepted and stored, but ignored by Gantry (they configure AWS services that do not exist on premises):
/// `executionRoleArn`, `taskRoleArn`, `requiresCompatibilities` values other than `EXTERNAL` (`EC2` is accepted;
/// `FARGATE` is refused), `ephemeralStorage`, `proxyConfiguration`, `runtimePlatform`, `inferenceAccelerators`, and in
/// containers `links` and the `awslogs` log driver.
package struct TaskDefinitionSpec: Sendable, Equatable, Codable {
    /// The family name: 1 to 255 ASCII letters, digits, `-` and `_`. Revisions are numbered within a family.
    package var family: String
    /// The containers of the task: 1 to 10.
    package var containerDefinitions: [ContainerDefinition]
    /// Task-level CPU as ECS writes it: CPU units (`"256"`, 1024 units per vCPU) or vCPUs (`"0.25 vCPU"`). See
    /// `cpuUnits`.
    package var cpu: String?
    /// Task-level memory as ECS writes it: MiB (`"512"`) or GB (`"1 GB"`, meaning GiB as in ECS). See `memoryMiB`.
    package var memory: String?
    /// `bridge` (the default), `host` or `none`. ECS's `awsvpc` is refused.
    package var networkMode: String?
    /// Where tasks may be placed; at most 10.
    package var placementConstraints: [PlacementConstraint]?
    /// Host directories the containers can mount.
    package var volumes: [Volume]?
    /// Launch types; when given, must include `EXTERNAL`. `EC2` is accepted and ignored.
    package var requiresCompatibilities: [String]?
    /// Ignored: the IAM role ECS's agent assumes to pull images and fetch secrets.
    package var executionRoleArn: String?
    /// Ignored: the IAM role the containers assume.
    package var taskRoleArn: String?
    /// `host` or `task`: whose process namespace the containers share.
    package var pidMode: String?
    /// `host`, `task` or `none`: whose IPC namespace the containers share.
    package var ipcMode: String?
    /// Labels for the operator: at most 50, keys unique.
    package var tags: [Tag]?
    /// Ignored: Fargate's ephemeral storage size.
    package var ephemeralStorage: EphemeralStorage?
    /// Ignored: App Mesh's proxy configuration.
    package var proxyConfiguration: ProxyConfiguration?
    /// Ignored: Fargate's CPU architecture and operating system family.
    package var runtimePlatform: RuntimePlatform?
    /// Ignored: Elastic Inference accelerators (a retired AWS service).
    package var inferenceAccelerators: [InferenceAccelerator]?

    /// Creates a spec with the required fields; set the others afterwards.
    package init(family: String, containerDefinitions: [ContainerDefinition]) {
        self.family = family
        self.containerDefinitions = containerDefinitions
    }

    /// The default network mode (ECS's).
    package static let defaultNetworkMode = "bridge"

    /// Task-level CPU in CPU units (1024 per vCPU), or nil when `cpu` is absent or unreadable. `"256"` is 256,
    /// `"0.25 vCPU"` and `"0.25 vcpu"` are 256, `"2 vCPU"` is 2048. A value that is not a positive whole number of
    /// units (`"0"`, `"0.0001 vCPU"`) is unreadable.
    package var cpuUnits: Int? {
        cpu.flatMap { Self.parseAmount($0, unitSuffix: "vcpu", unitSize: 1024) }
    }

    /// Task-level memory in MiB, or nil when `memory` is absent or unreadable. `"512"` is 512; `"1 GB"`, `"1GB"` and
    /// `"1 gb"` are 1024; `"0.5 GB"` is 512. A value that is not a positive whole number of MiB is unreadable.
    package var memoryMiB: Int? {
        memory.flatMap { Self.parseAmount($0, unitSuffix: "gb", unitSize: 1024) }
    }

    /// This spec with ECS's defaults written out: network mode `bridge` and, in every container, `essential` true,
    /// port protocol `tcp` and the health-check defaults. Validation reads a spec through this, so a spec and its
    /// normalized form are valid or invalid together.
    package func normalized() -> TaskDefinitionSpec {
        var spec = self
        if spec.networkMode == nil { spec.networkMode = Self.defaultNetworkMode }
        for index in spec.containerDefinitions.indices {
            spec.containerDefinitions[index] = spec.containerDefinitions[index].normalized()
        }
        return spec
    }

    /// The canonical encoding for the replicated log and snapshots: JSON with sorted keys (dictionary keys too) and
    /// absent optionals omitted, so equal specs give equal bytes on every node and in every version that keeps the
    /// field set.
    package func canonicalJSON() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self))
        } catch {
            preconditionFailure("encoding a TaskDefinitionSpec cannot fail (only strings, integers, bools): \(error)")
        }
    }

    /// Decodes `canonicalJSON()` output. It does not validate: a spec was validated before it reached the log, and
    /// replay must not depend on the current version's rules. Throws the decoding problem when the bytes are not a
    /// spec (a corrupt snapshot).
    package static func fromCanonicalJSON(_ bytes: [UInt8]) throws(TaskDefinitionProblems) -> TaskDefinitionSpec {
        do {
            return try JSONDecoder().decode(TaskDefinitionSpec.self, from: Data(bytes))
        } catch {
            throw TaskDefinitionProblems([TaskDefinitionValidator.decodingProblem(error, json: bytes)])
        }
    }

    /// Parses `"N"` as N, or `"D <suffix>"` (decimal D, suffix case-insensitive, space optional) as D × `unitSize`;
    /// nil unless the result is a positive whole number.
    static func parseAmount(_ text: String, unitSuffix: String, unitSize: Int) -> Int? {
        let lowered = trimmed(text.lowercased())
        if let whole = decimal(lowered), whole.scale == 1 {
            return whole.digits > 0 ? whole.digits : nil
        }
        guard lowered.hasSuffix(unitSuffix) else { return nil }
        let number = trimmed(String(lowered.dropLast(unitSuffix.count)))
        guard let amount = decimal(number) else { return nil }
        let (product, overflow) = amount.digits.multipliedReportingOverflow(by: unitSize)
        guard !overflow, product > 0, product % amount.scale == 0 else { return nil }
        return product / amount.scale
    }

    /// `"12.5"` as (125, 10): a non-negative decimal with at most 9 digits before and 6 after the point, so the
    /// arithmetic above cannot overflow.
    private static func decimal(_ text: String) -> (digits: Int, scale: Int)? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty, whole.utf8.count <= 9, fraction.utf8.count <= 6 else { return nil }
        guard parts.count == 1 || !fraction.isEmpty else { return nil }
        guard (whole + fraction).utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        var scale = 1
        for _ in 0..<fraction.utf8.count { scale *= 10 }
        guard let digits = Int(whole + fraction) else { return nil }
        return (digits, scale)
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension TaskDefinitionSpec {
    /// A rule for where tasks may run (ECS `TaskDefinitionPlacementConstraint`).
    package struct PlacementConstraint: Sendable, Equatable, Codable {
        /// `memberOf` (place only on nodes matching `expression`) or `distinctInstance` (at most one task of this
        /// definition per node).
        package var type: String
        /// The cluster query language expression; required for `memberOf`, absent for `distinctInstance`.
        package var expression: String?

        /// Creates a constraint.
        package init(type: String, expression: String? = nil) {
            self.type = type
            self.expression = expression
        }
    }

    /// A named volume backed by a host directory (ECS `Volume` with `host`; Docker and EFS volume configurations are
    /// not supported and are dropped by the decoder).
    package struct Volume: Sendable, Equatable, Codable {
        /// The name mount points refer to: 1 to 255 ASCII letters, digits, `-` and `_`, unique in the task.
        package var name: String
        /// The host directory; when absent, the runtime picks a scratch directory that lives as long as the task.
        package var host: HostVolumeProperties?

        /// Creates a volume.
        package init(name: String, host: HostVolumeProperties? = nil) {
            self.name = name
            self.host = host
        }
    }

    /// Where on the host a volume lives.
    package struct HostVolumeProperties: Sendable, Equatable, Codable {
        /// An absolute path on the host.
        package var sourcePath: String?

        /// Creates host volume properties.
        package init(sourcePath: String? = nil) {
            self.sourcePath = sourcePath
        }
    }

    /// An operator's label: the same type as every resource's tags.
    package typealias Tag = ClusterState.Tag

    /// Ignored: Fargate's ephemeral storage.
    package struct EphemeralStorage: Sendable, Equatable, Codable {
        /// The size in GiB.
        package var sizeInGiB: Int

        /// Creates an ephemeral storage setting.
        package init(sizeInGiB: Int) {
            self.sizeInGiB = sizeInGiB
        }
    }

    /// Ignored: App Mesh's proxy configuration.
    package struct ProxyConfiguration: Sendable, Equatable, Codable {
        /// The proxy type (`APPMESH`).
        package var type: String?
        /// The container that is the proxy.
        package var containerName: String
        /// The proxy's settings.
        package var properties: [ContainerDefinition.KeyValuePair]?

        /// Creates a proxy configuration.
        package init(type: String? = nil, containerName: String, properties: [ContainerDefinition.KeyValuePair]? = nil)
        {
            self.type = type
            self.containerName = containerName
            self.properties = properties
        }
    }

    /// Ignored: Fargate's platform selection.
    package struct RuntimePlatform: Sendable, Equatable, Codable {
        /// `X86_64` or `ARM64`.
        package var cpuArchitecture: String?
        /// `LINUX` or a Windows Server family.
        package var operatingSystemFamily: String?

        /// Creates a runtime platform.
        package init(cpuArchitecture: String? = nil, operatingSystemFamily: String? = nil) {
            self.cpuArchitecture = cpuArchitecture
            self.operatingSystemFamily = operatingSystemFamily
        }
    }

    /// Ignored: an Elastic Inference accelerator.
    package struct InferenceAccelerator: Sendable, Equatable, Codable {
        /// The device name containers refer to.
        package var deviceName: String
        /// The accelerator type.
        package var deviceType: String

        /// Creates an accelerator entry.
        package init(deviceName: String, deviceType: String) {
            self.deviceName = deviceName
            self.deviceType = deviceType
        }
    }
}
