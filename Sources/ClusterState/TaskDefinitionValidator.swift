#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One thing wrong with a task definition: where (`containerDefinitions[1].portMappings[0].containerPort`) and which
/// rule it breaks (`must be 1-65535`).
package struct FieldProblem: Sendable, Equatable, Error {
    /// The path of the offending field, in the request's JSON names, with `[index]` for array elements; `(root)` for
    /// the document itself.
    package var field: String
    /// The rule the field breaks, phrased to follow the field name.
    package var rule: String

    /// Creates a problem.
    package init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    /// `field: rule`, for a user.
    package var message: String { "\(field): \(rule)" }
}

/// Everything wrong with a task definition, in the order `TaskDefinitionValidator.validate(_:)` reports it; never
/// empty.
package struct TaskDefinitionProblems: Sendable, Equatable, Error {
    /// The problems.
    package var problems: [FieldProblem]

    /// Creates the error. `problems` must not be empty.
    package init(_ problems: [FieldProblem]) {
        precondition(!problems.isEmpty, "TaskDefinitionProblems needs at least one problem")
        self.problems = problems
    }

    /// Every problem's message, one per line.
    package var message: String { problems.map(\.message).joined(separator: "\n") }
}

/// Decodes and checks task definitions. The rules follow ECS's `RegisterTaskDefinition` where Gantry supports a
/// feature, and refuse AWS-only settings with a message naming the on-premises alternative.
package enum TaskDefinitionValidator {
    /// At most this many containers per task (ECS's limit).
    package static let maxContainers = 10
    /// At most this many placement constraints (ECS's limit).
    package static let maxPlacementConstraints = 10
    /// At most this many tags (ECS's limit).
    package static let maxTags = 50
    /// Network modes Gantry runs.
    package static let networkModes = ["bridge", "host", "none"]
    /// Launch types accepted in `requiresCompatibilities`; only `EXTERNAL` means anything to Gantry.
    package static let compatibilities = ["EXTERNAL", "EC2"]

    /// Decodes an ECS task definition JSON document, validates it, and returns it `normalized()`; or every problem
    /// found. JSON that does not decode into the model (bad syntax, a wrong type, a missing required field) gives
    /// one problem naming the field when the decoder reports it.
    package static func decode(_ json: [UInt8]) -> Result<TaskDefinitionSpec, TaskDefinitionProblems> {
        let spec: TaskDefinitionSpec
        do {
            spec = try JSONDecoder().decode(TaskDefinitionSpec.self, from: Data(json))
        } catch {
            return .failure(TaskDefinitionProblems([decodingProblem(error, json: json)]))
        }
        let problems = validate(spec)
        guard problems.isEmpty else { return .failure(TaskDefinitionProblems(problems)) }
        return .success(spec.normalized())
    }

    /// Every rule `spec` breaks, empty when it is valid: the family, then each container in order, then what spans
    /// containers (host ports, dependency cycles, task cpu and memory), then the other task-level fields. Absent
    /// optional fields are read with ECS's defaults (see `TaskDefinitionSpec.normalized()`).
    package static func validate(_ spec: TaskDefinitionSpec) -> [FieldProblem] {
        let spec = spec.normalized()
        var problems: [FieldProblem] = []
        func add(_ field: String, _ rule: String) { problems.append(FieldProblem(field: field, rule: rule)) }

        if !isIdentifier(spec.family) { add("family", identifierRule) }

        let containers = spec.containerDefinitions
        if containers.isEmpty || containers.count > maxContainers {
            add("containerDefinitions", "must have 1-\(maxContainers) entries")
        }
        if !containers.isEmpty && !containers.contains(where: \.isEssential) {
            add("containerDefinitions", "must include at least one essential container")
        }
        let task = TaskContext(spec)
        for index in containers.indices {
            checkContainer(at: index, in: task, into: &problems)
        }
        checkHostPorts(task, into: &problems)
        checkDependencyCycles(containers, into: &problems)

        checkResources(spec, into: &problems)
        let mode = spec.networkMode ?? TaskDefinitionSpec.defaultNetworkMode
        if mode == "awsvpc" {
            add("networkMode", "awsvpc is AWS-only; supported: bridge, host, none")
        } else if !networkModes.contains(mode) {
            add("networkMode", "must be bridge, host or none")
        }
        checkPlacement(spec.placementConstraints ?? [], into: &problems)
        checkVolumes(spec.volumes ?? [], into: &problems)
        checkCompatibilities(spec.requiresCompatibilities, into: &problems)
        if let pidMode = spec.pidMode, pidMode != "host" && pidMode != "task" {
            add("pidMode", "must be host or task")
        }
        if let ipcMode = spec.ipcMode, !["host", "task", "none"].contains(ipcMode) {
            add("ipcMode", "must be host, task or none")
        }
        checkTags(spec.tags ?? [], into: &problems)
        return problems
    }

    /// The rule text for family, container and volume names.
    static let identifierRule = "must be 1-255 letters, digits, '-' or '_'"

    /// Whether `text` is 1 to 255 ASCII letters, digits, `-` and `_` (ECS's rule for families and names).
    static func isIdentifier(_ text: String) -> Bool {
        let bytes = text.utf8
        return !bytes.isEmpty && bytes.count <= 255
            && bytes.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    return true
                default:
                    return false
                }
            }
    }

    /// `a + b`, stopping at `Int.max` instead of trapping: sums of operator-supplied numbers must not crash a node.
    static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int.max : Int.min) : sum
    }

    private static func checkResources(_ spec: TaskDefinitionSpec, into problems: inout [FieldProblem]) {
        let containers = spec.containerDefinitions
        if spec.cpu != nil {
            if let units = spec.cpuUnits {
                let total = containers.reduce(0) { saturatingSum($0, max($1.cpu ?? 0, 0)) }
                if total > units {
                    problems.append(
                        FieldProblem(field: "cpu", rule: "must be at least the containers' total cpu (\(total) units)")
                    )
                }
            } else {
                problems.append(
                    FieldProblem(field: "cpu", rule: "must be CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\"")
                )
            }
        }
        if spec.memory != nil {
            if let mebibytes = spec.memoryMiB {
                // What the scheduler reserves per container: the soft limit if set, else the hard limit.
                let total = containers.reduce(0) { saturatingSum($0, max($1.memoryReservation ?? $1.memory ?? 0, 0)) }
                if total > mebibytes {
                    problems.append(
                        FieldProblem(
                            field: "memory",
                            rule: "must be at least the containers' total memory (\(total) MiB)"
                        )
                    )
                }
            } else {
                problems.append(
                    FieldProblem(field: "memory", rule: "must be MiB such as \"512\" or GB such as \"1 GB\"")
                )
            }
        }
    }

    private static func checkPlacement(
        _ constraints: [TaskDefinitionSpec.PlacementConstraint],
        into problems: inout [FieldProblem]
    ) {
        if constraints.count > maxPlacementConstraints {
            problems.append(
                FieldProblem(
                    field: "placementConstraints",
                    rule: "must have at most \(maxPlacementConstraints) entries"
                )
            )
        }
        for (index, constraint) in constraints.enumerated() {
            let path = "placementConstraints[\(index)]"
            switch constraint.type {
            case "memberOf":
                if (constraint.expression ?? "").isEmpty {
                    problems.append(FieldProblem(field: "\(path).expression", rule: "is required for memberOf"))
                }
            case "distinctInstance":
                if constraint.expression != nil {
                    problems.append(
                        FieldProblem(field: "\(path).expression", rule: "must be omitted for distinctInstance")
                    )
                }
            default:
                problems.append(FieldProblem(field: "\(path).type", rule: "must be memberOf or distinctInstance"))
            }
        }
    }

    private static func checkVolumes(_ volumes: [TaskDefinitionSpec.Volume], into problems: inout [FieldProblem]) {
        var seen: [String: Int] = [:]
        for (index, volume) in volumes.enumerated() {
            let path = "volumes[\(index)]"
            if !isIdentifier(volume.name) {
                problems.append(FieldProblem(field: "\(path).name", rule: identifierRule))
            } else if let first = seen[volume.name] {
                problems.append(FieldProblem(field: "\(path).name", rule: "duplicates volumes[\(first)].name"))
            } else {
                seen[volume.name] = index
            }
            if let source = volume.host?.sourcePath, !source.hasPrefix("/") {
                problems.append(FieldProblem(field: "\(path).host.sourcePath", rule: "must be an absolute path"))
            }
        }
    }

    private static func checkCompatibilities(_ launchTypes: [String]?, into problems: inout [FieldProblem]) {
        guard let launchTypes, !launchTypes.isEmpty else { return }
        for (index, launchType) in launchTypes.enumerated() where !compatibilities.contains(launchType) {
            let rule =
                launchType == "FARGATE"
                ? "FARGATE is AWS-only; Gantry's on-premises launch type is EXTERNAL"
                : "must be EXTERNAL (the on-premises launch type) or EC2"
            problems.append(FieldProblem(field: "requiresCompatibilities[\(index)]", rule: rule))
        }
        if !launchTypes.contains("EXTERNAL") {
            problems.append(
                FieldProblem(
                    field: "requiresCompatibilities",
                    rule: "must include EXTERNAL, the on-premises launch type"
                )
            )
        }
    }

    private static func checkTags(_ tags: [TaskDefinitionSpec.Tag], into problems: inout [FieldProblem]) {
        if tags.count > maxTags {
            problems.append(FieldProblem(field: "tags", rule: "must have at most \(maxTags) entries"))
        }
        var seen: [String: Int] = [:]
        for (index, tag) in tags.enumerated() {
            let keyLength = tag.key.unicodeScalars.count
            if keyLength < 1 || keyLength > 128 {
                problems.append(FieldProblem(field: "tags[\(index)].key", rule: "must be 1-128 characters"))
            } else if let first = seen[tag.key] {
                problems.append(FieldProblem(field: "tags[\(index)].key", rule: "duplicates tags[\(first)].key"))
            } else {
                seen[tag.key] = index
            }
            if (tag.value ?? "").unicodeScalars.count > 256 {
                problems.append(FieldProblem(field: "tags[\(index)].value", rule: "must be at most 256 characters"))
            }
        }
    }
}

// MARK: - Decoding errors

extension TaskDefinitionValidator {
    /// The one problem that explains why `json` did not decode: the decoder's coding path as a field path, and the
    /// expected shape as the rule.
    static func decodingProblem(_ error: any Error, json: [UInt8]) -> FieldProblem {
        guard let error = error as? DecodingError else {
            return FieldProblem(field: rootField, rule: "is not valid JSON")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return FieldProblem(field: fieldPath(context.codingPath), rule: expectation(type))
        case .valueNotFound(let type, let context):
            return FieldProblem(field: fieldPath(context.codingPath), rule: "must not be null; \(expectation(type))")
        case .keyNotFound(let key, let context):
            return FieldProblem(field: fieldPath(context.codingPath + [key]), rule: "is required")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return FieldProblem(field: fieldPath(context.codingPath), rule: "has an unreadable value")
        case .dataCorrupted:
            // The JSON decoder reports a number that does not fit an Int (`1.5`, `1e30`) as corrupt data with no path.
            // When the document is well-formed JSON, find that number; every number in the model is an integer.
            if let scanned = try? JSONDecoder().decode(ScannedJSON.self, from: Data(json)),
                let path = scanned.firstNonInteger(at: [])
            {
                return FieldProblem(field: path.isEmpty ? rootField : path.joined(), rule: "must be an integer")
            }
            return FieldProblem(field: rootField, rule: "is not valid JSON")
        @unknown default:
            return FieldProblem(field: rootField, rule: "is not a task definition")
        }
    }

    /// The field name for the document as a whole.
    static let rootField = "(root)"

    /// `containerDefinitions[0].cpu` for the coding path `containerDefinitions`, `Index 0`, `cpu`.
    static func fieldPath(_ codingPath: [any CodingKey]) -> String {
        guard !codingPath.isEmpty else { return rootField }
        var path = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue.hasPrefix("Index ") {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }

    private static func expectation(_ type: Any.Type) -> String {
        if type == Int.self { return "must be an integer" }
        if type == String.self { return "must be a string" }
        if type == Bool.self { return "must be true or false" }
        let name = String(describing: type)
        if name.hasPrefix("Array") { return "must be an array" }
        if name.hasPrefix("Dictionary") { return "must be an object" }
        return "must be a \(name)"
    }
}

/// Any JSON value, kept only to locate a number the model cannot hold.
private indirect enum ScannedJSON: Decodable {
    case object([String: ScannedJSON])
    case array([ScannedJSON])
    case number(Double)
    case other

    /// Decodes any JSON value, trying scalars first.
    init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if single.decodeNil() {
                self = .other
                return
            }
            if (try? single.decode(Bool.self)) != nil {
                self = .other
                return
            }
            if let number = try? single.decode(Double.self) {
                self = .number(number)
                return
            }
            if (try? single.decode(String.self)) != nil {
                self = .other
                return
            }
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: ScannedJSON] = [:]
            for key in object.allKeys {
                members[key.stringValue] = try object.decode(ScannedJSON.self, forKey: key)
            }
            self = .object(members)
            return
        }
        var array = try decoder.unkeyedContainer()
        var elements: [ScannedJSON] = []
        while !array.isAtEnd {
            elements.append(try array.decode(ScannedJSON.self))
        }
        self = .array(elements)
    }

    /// The path (as joined components) of the first number, in sorted-key order, that no `Int` holds.
    func firstNonInteger(at path: [String]) -> [String]? {
        switch self {
        case .number(let value):
            return Int(exactly: value) == nil ? path : nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = element.firstNonInteger(at: path + ["[\(index)]"]) { return found }
            }
            return nil
        case .object(let members):
            for key in members.keys.sorted() {
                if let found = members[key]?.firstNonInteger(at: path + [path.isEmpty ? key : ".\(key)"]) {
                    return found
                }
            }
            return nil
        case .other:
            return nil
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
