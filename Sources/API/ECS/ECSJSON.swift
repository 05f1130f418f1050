#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value, for reshaping the REST face's answers into the ECS face's: the two share field names, so the
/// gateway works on values rather than on a second set of types.
package indirect enum ECSJSON: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([ECSJSON])
    case object([String: ECSJSON])

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ECSJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ECSJSON].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses `bytes`; nil when they are not JSON.
    package static func parse(_ bytes: [UInt8]) -> ECSJSON? {
        try? JSONDecoder().decode(ECSJSON.self, from: Data(bytes))
    }

    /// The canonical bytes (sorted keys).
    package var bytes: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array("null".utf8)
    }

    /// The member `key` of an object.
    package subscript(key: String) -> ECSJSON? {
        get {
            guard case .object(let members) = self else { return nil }
            return members[key]
        }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The string, if this is one.
    package var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The whole number, if this is one.
    package var int: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9e15: return Int64(value)
        default: return nil
        }
    }

    /// The boolean, if this is one.
    package var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    package var array: [ECSJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is an object.
    package var object: [String: ECSJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// This value with every timestamp the REST face writes (epoch milliseconds under a key ending in `At`) turned
    /// into ECS's epoch seconds.
    package func secondsTimestamps() -> ECSJSON {
        switch self {
        case .array(let elements):
            return .array(elements.map { $0.secondsTimestamps() })
        case .object(let members):
            var converted: [String: ECSJSON] = [:]
            for (key, value) in members {
                if key.hasSuffix("At"), case .int(let milliseconds) = value {
                    converted[key] = .double(Double(milliseconds) / 1_000)
                } else {
                    converted[key] = value.secondsTimestamps()
                }
            }
            return .object(converted)
        default:
            return self
        }
    }

    /// This value with each task's `cpu` and `memory` as strings, the type ECS's model gives them (`"256"`).
    package func ecsTaskShapes() -> ECSJSON {
        switch self {
        case .array(let elements):
            return .array(elements.map { $0.ecsTaskShapes() })
        case .object(var members):
            let isTask = members["taskArn"] != nil && members["lastStatus"] != nil
            for (key, value) in members {
                if isTask, key == "cpu" || key == "memory", case .int(let number) = value {
                    members[key] = .string(String(number))
                } else {
                    members[key] = value.ecsTaskShapes()
                }
            }
            return .object(members)
        default:
            return self
        }
    }
}
