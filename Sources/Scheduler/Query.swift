/// A parsed expression of the ECS cluster query language, as `memberOf` placement constraints use it.
///
/// Grammar (precedence: `not` > `and` > `or`; `and`/`or` are left-associative and flattened):
///
///     query      = or
///     or         = and { ("or" | "||") and }
///     and        = unary { ("and" | "&&") unary }
///     unary      = ("not" | "!") unary | "(" or ")" | condition
///     condition  = subject operator [value | list]
///     subject    = "attribute:" name | "agentConnected" | "agentVersion" | "registeredAt"
///                | "runningTasksCount" | "task:group"
///     list       = "[" value { "," value } "]"
///     value      = bare word | "quoted" | 'quoted'
///
/// Limits: at most `maximumLength` characters and `maximumDepth` levels of `(` and `not`. "Characters" and
/// error offsets count Unicode scalars from 0 (the same as characters for the ASCII the grammar uses).
/// Subjects and keywords are case-sensitive. ECS's `ec2InstanceId` subject is not supported.
///
/// Differences from ECS, on purpose:
/// - `=~` / `matches` takes a wildcard pattern, not a regular expression: `*` matches any run of
///   characters (including none), `?` matches exactly one, everything else matches itself (so `.` is
///   a literal dot and `t2.*` matches `t2.micro`). Regex-only characters (`[`, `]`, `(`, `)`, `{`,
///   `}`, `^`, `$`, `+`, `|`, `\`) are rejected rather than silently treated as literals. Matching is
///   linear-space and at worst quadratic in time, so a hostile pattern cannot blow up placement.
/// - Negated operators (`!=`, `!in`, `!~`, `!exists`) are the exact negation of their positive form:
///   `attribute:x != a` holds when the instance has no attribute `x`.
/// - A date-only `registeredAt` value means the whole UTC day, a timestamp the whole second:
///   `registeredAt == 2026-01-31` holds on that day, `< 2026-01-31` before it, `> 2026-01-31` after it.
package struct Query: Sendable, Equatable, CustomStringConvertible {
    /// The longest query text accepted, in characters.
    package static let maximumLength = 2000
    /// The deepest nesting of parentheses and `not` accepted.
    package static let maximumDepth = 32

    /// The expression tree.
    package var expression: Expression

    /// Creates a query from an already-built tree.
    package init(_ expression: Expression) {
        self.expression = expression
    }

    /// Parses `text`, or throws the first problem with its character offset.
    package static func parse(_ text: String) throws(QueryError) -> Query {
        var parser = QueryParser(text)
        return Query(try parser.parseQuery())
    }

    /// The canonical form: symbol operators, minimal parentheses, quoted values only where needed.
    /// Invariant: `Query.parse(query.description) == query`.
    package var description: String {
        expression.description
    }
}

extension Query {
    /// A node of the expression tree.
    /// Invariant: `and`/`or` hold at least two operands and never an operand of their own kind.
    package enum Expression: Sendable, Equatable, CustomStringConvertible {
        /// `subject operator value`.
        case condition(Condition)
        /// Negation.
        indirect case not(Expression)
        /// All operands hold.
        case and([Expression])
        /// Any operand holds.
        case or([Expression])

        /// The canonical text (see `Query.description`).
        package var description: String {
            switch self {
            case .condition(let condition):
                return condition.description
            case .not(let operand):
                switch operand {
                case .condition, .not: return "not \(operand)"
                case .and, .or: return "not (\(operand))"
                }
            case .and(let operands):
                return operands.map { operand in
                    if case .or = operand { return "(\(operand))" }
                    return operand.description
                }.joined(separator: " and ")
            case .or(let operands):
                return operands.map(\.description).joined(separator: " or ")
            }
        }
    }

    /// One comparison of a subject of a container instance.
    package struct Condition: Sendable, Equatable, CustomStringConvertible {
        /// What is compared.
        package var subject: Subject
        /// How.
        package var `operator`: Operator
        /// The operands as written (unquoted).
        /// Invariant: empty for `exists`/`!exists`, one or more for `in`/`!in`, exactly one otherwise;
        /// each is valid for `subject` (a date for `registeredAt`, a whole number for `runningTasksCount`,
        /// `true`/`false` for `agentConnected`, a supported pattern for `=~`/`!~`).
        package var values: [String]

        /// Creates a condition; `Query.parse` is the checked way to build one.
        package init(subject: Subject, operator: Operator, values: [String]) {
            self.subject = subject
            self.operator = `operator`
            self.values = values
        }

        /// The canonical text.
        package var description: String {
            switch self.operator {
            case .exists, .notExists:
                return "\(subject) \(self.operator.rawValue)"
            case .in, .notIn:
                return "\(subject) \(self.operator.rawValue) [\(values.map(Query.quoted).joined(separator: ", "))]"
            default:
                return "\(subject) \(self.operator.rawValue) \(values.map(Query.quoted).joined(separator: " "))"
            }
        }
    }

    /// What a condition looks at.
    package enum Subject: Sendable, Equatable, CustomStringConvertible {
        /// `attribute:<name>`: a built-in or custom attribute.
        case attribute(String)
        /// `agentConnected`: `true` or `false`.
        case agentConnected
        /// `agentVersion`: compared as dotted version numbers where both sides are.
        case agentVersion
        /// `registeredAt`: compared to UTC dates.
        case registeredAt
        /// `runningTasksCount`: a whole number.
        case runningTasksCount
        /// `task:group`: the groups of the instance's tasks that are not STOPPED.
        case taskGroup

        /// The names a user may write, for error messages.
        static let catalogue =
            "attribute:<name>, agentConnected, agentVersion, registeredAt, runningTasksCount, task:group"

        /// The subject as written in a query.
        package var description: String {
            switch self {
            case .attribute(let name): return "attribute:\(name)"
            case .agentConnected: return "agentConnected"
            case .agentVersion: return "agentVersion"
            case .registeredAt: return "registeredAt"
            case .runningTasksCount: return "runningTasksCount"
            case .taskGroup: return "task:group"
            }
        }
    }

    /// A comparison operator; the raw value is the canonical (symbol) spelling.
    package enum Operator: String, Sendable, Equatable, CaseIterable {
        /// `==` / `equals`.
        case equals = "=="
        /// `!=` / `not_equals`.
        case notEquals = "!="
        /// `>` / `greater_than`.
        case greaterThan = ">"
        /// `>=` / `greater_than_equal`.
        case greaterThanEqual = ">="
        /// `<` / `less_than`.
        case lessThan = "<"
        /// `<=` / `less_than_equal`.
        case lessThanEqual = "<="
        /// `exists`.
        case exists = "exists"
        /// `!exists` / `not_exists`.
        case notExists = "!exists"
        /// `in [a, b]`.
        case `in` = "in"
        /// `!in [a, b]` / `not_in [a, b]`.
        case notIn = "!in"
        /// `=~` / `matches`: a wildcard pattern.
        case matches = "=~"
        /// `!~` / `not_matches`.
        case notMatches = "!~"

        /// The word spelling.
        package var word: String {
            switch self {
            case .equals: return "equals"
            case .notEquals: return "not_equals"
            case .greaterThan: return "greater_than"
            case .greaterThanEqual: return "greater_than_equal"
            case .lessThan: return "less_than"
            case .lessThanEqual: return "less_than_equal"
            case .exists: return "exists"
            case .notExists: return "not_exists"
            case .in: return "in"
            case .notIn: return "not_in"
            case .matches: return "matches"
            case .notMatches: return "not_matches"
            }
        }

        /// The operator spelled `text` (either spelling, plus `!exists`/`!in`), or nil.
        static func named(_ text: String) -> Operator? {
            allCases.first { $0.rawValue == text || $0.word == text }
        }

        /// Whether this is the negation of another operator.
        var isNegated: Bool {
            switch self {
            case .notEquals, .notExists, .notIn, .notMatches: return true
            default: return false
            }
        }

        /// The ordering operators.
        var isOrdering: Bool {
            switch self {
            case .greaterThan, .greaterThanEqual, .lessThan, .lessThanEqual: return true
            default: return false
            }
        }
    }

    /// `value` bare if it lexes back as one word, else double-quoted with `\` escapes.
    static func quoted(_ value: String) -> String {
        if !value.isEmpty, value.unicodeScalars.allSatisfy(QueryLexer.isBareValueCharacter),
            !["and", "or", "not"].contains(value)
        {
            return value
        }
        var result = "\""
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { result.append("\\") }
            result.unicodeScalars.append(scalar)
        }
        result.append("\"")
        return result
    }
}

/// Why a query text was refused: where (a character offset from 0) and what to do about it.
package struct QueryError: Error, Equatable, CustomStringConvertible {
    /// The character offset of the problem (the query's length when it ended too soon).
    package var offset: Int
    /// What is wrong, phrased so the user can fix it.
    package var message: String

    /// Creates an error.
    package init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    /// `at <offset>: <message>`.
    package var description: String {
        "at \(offset): \(message)"
    }
}
