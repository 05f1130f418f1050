/// A JSON Schema object as OpenAPI 3.0.3 spells it (a subset: what the admin API's shapes need). Built with the
/// static helpers below and encoded with sorted keys, so the document is the same bytes on every build.
package struct JSONSchema: Sendable, Equatable, Encodable {
    /// `#/components/schemas/<name>` when this schema is a reference (every other field is then ignored).
    var reference: String?
    /// `string`, `integer`, `boolean`, `object` or `array`.
    var type: String?
    /// `int64`, `binary`, …
    var format: String?
    /// What the value means.
    var description: String?
    /// An object's members.
    var properties: [String: JSONSchema]?
    /// The members an object always has.
    var required: [String]?
    /// The schema of a map's values (`[String: String]`); stored in an array because a struct cannot hold itself.
    var additionalPropertiesStorage: [JSONSchema] = []
    /// The schema of an array's elements (one element, or none); an array for the same reason.
    var itemsStorage: [JSONSchema] = []
    /// The allowed string values.
    var enumeration: [String]?
    /// The smallest integer allowed.
    var minimum: Int64?
    /// The largest integer allowed.
    var maximum: Int64?
    /// The fewest characters.
    var minLength: Int?
    /// The most characters.
    var maxLength: Int?
    /// An ECMA-262 regular expression a string matches.
    var pattern: String?
    /// The fewest array elements.
    var minItems: Int?
    /// The most array elements.
    var maxItems: Int?
    /// Whether array elements must differ.
    var uniqueItems: Bool?
    /// Every schema listed must hold.
    var allOf: [JSONSchema]?

    enum Keys: String, CodingKey {
        case reference = "$ref"
        case type, format, description, properties, required, additionalProperties, items
        case enumeration = "enum"
        case minimum, maximum, minLength, maxLength, pattern, minItems, maxItems, uniqueItems, allOf
    }

    /// Encodes the OpenAPI spelling (`$ref`, `enum`, `items`, `additionalProperties`), omitting absent fields.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        if let reference {
            try container.encode(reference, forKey: .reference)
            return
        }
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(format, forKey: .format)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encodeIfPresent(properties, forKey: .properties)
        try container.encodeIfPresent(required, forKey: .required)
        if let values = additionalPropertiesStorage.first {
            try container.encode(values, forKey: .additionalProperties)
        }
        if let items = itemsStorage.first { try container.encode(items, forKey: .items) }
        try container.encodeIfPresent(enumeration, forKey: .enumeration)
        try container.encodeIfPresent(minimum, forKey: .minimum)
        try container.encodeIfPresent(maximum, forKey: .maximum)
        try container.encodeIfPresent(minLength, forKey: .minLength)
        try container.encodeIfPresent(maxLength, forKey: .maxLength)
        try container.encodeIfPresent(pattern, forKey: .pattern)
        try container.encodeIfPresent(minItems, forKey: .minItems)
        try container.encodeIfPresent(maxItems, forKey: .maxItems)
        try container.encodeIfPresent(uniqueItems, forKey: .uniqueItems)
        try container.encodeIfPresent(allOf, forKey: .allOf)
    }

    /// The element schema of an array.
    var items: JSONSchema? { itemsStorage.first }

    /// The components this schema refers to, directly or through its members.
    var references: Set<String> {
        var found: Set<String> = []
        if let reference { found.insert(reference) }
        for member in (properties ?? [:]).values { found.formUnion(member.references) }
        for nested in additionalPropertiesStorage + itemsStorage + (allOf ?? []) { found.formUnion(nested.references) }
        return found
    }
}

// MARK: - Builders

extension JSONSchema {
    /// A reference to `#/components/schemas/<name>`.
    static func ref(_ name: String) -> JSONSchema {
        JSONSchema(reference: "#/components/schemas/\(name)")
    }

    /// A string, optionally bounded, matching `pattern`, or one of `oneOf`.
    static func string(
        _ description: String? = nil,
        minLength: Int? = nil,
        maxLength: Int? = nil,
        pattern: String? = nil,
        oneOf values: [String]? = nil
    ) -> JSONSchema {
        JSONSchema(
            type: "string",
            description: description,
            enumeration: values,
            minLength: minLength,
            maxLength: maxLength,
            pattern: pattern
        )
    }

    /// A 64-bit integer, optionally bounded.
    static func integer(_ description: String? = nil, minimum: Int64? = nil, maximum: Int64? = nil) -> JSONSchema {
        JSONSchema(type: "integer", format: "int64", description: description, minimum: minimum, maximum: maximum)
    }

    /// A boolean.
    static func boolean(_ description: String? = nil) -> JSONSchema {
        JSONSchema(type: "boolean", description: description)
    }

    /// An array of `element`s.
    static func array(
        _ element: JSONSchema,
        _ description: String? = nil,
        minItems: Int? = nil,
        maxItems: Int? = nil,
        unique: Bool? = nil
    ) -> JSONSchema {
        JSONSchema(
            type: "array",
            description: description,
            itemsStorage: [element],
            minItems: minItems,
            maxItems: maxItems,
            uniqueItems: unique
        )
    }

    /// An object with `properties`, of which `required` are always present. Unknown members are allowed (the
    /// decoders skip them, and a later version may add some).
    static func object(
        _ description: String? = nil,
        required: [String] = [],
        _ properties: [String: JSONSchema]
    ) -> JSONSchema {
        for name in required {
            precondition(properties[name] != nil, "required member \(name) is not among the properties")
        }
        return JSONSchema(
            type: "object",
            description: description,
            properties: properties,
            required: required.isEmpty ? nil : required.sorted()
        )
    }

    /// An object with `properties`, none of them required.
    static func object(_ properties: [String: JSONSchema]) -> JSONSchema {
        object(nil, properties)
    }

    /// A JSON object used as a map from strings to `value`s (`dockerLabels`, log options).
    static func map(_ value: JSONSchema, _ description: String? = nil) -> JSONSchema {
        JSONSchema(type: "object", description: description, additionalPropertiesStorage: [value])
    }

    /// Raw bytes (the snapshot download).
    static let binary = JSONSchema(type: "string", format: "binary")

    /// This schema with `description` replaced.
    func described(_ text: String) -> JSONSchema {
        var copy = self
        copy.description = text
        return copy
    }
}

/// A literal JSON value for the document's `example`s (typed, so the document stays free of `Any`).
package indirect enum JSONExample: Sendable, Equatable, Encodable {
    /// A string.
    case string(String)
    /// An integer.
    case integer(Int64)
    /// A boolean.
    case bool(Bool)
    /// An array.
    case array([JSONExample])
    /// An object.
    case object([String: JSONExample])

    /// Encodes the value itself.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONExample: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// A string example.
    package init(stringLiteral value: String) { self = .string(value) }
    /// An integer example.
    package init(integerLiteral value: Int64) { self = .integer(value) }
    /// A boolean example.
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array example.
    package init(arrayLiteral elements: JSONExample...) { self = .array(elements) }
    /// An object example; a repeated key is a programmer error.
    package init(dictionaryLiteral elements: (String, JSONExample)...) {
        self = .object(Dictionary(elements) { _, _ in preconditionFailure("an example repeats a key") })
    }
}
