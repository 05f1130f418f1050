/// A recursive-descent parser over the lexed tokens; offsets count Unicode scalars from 0.
struct QueryParser {
    /// The query as scalars.
    private let characters: [Unicode.Scalar]
    /// The tokens, ending with `.end` (empty until `parseQuery` lexes them).
    private var tokens: [QueryToken] = []
    /// The next token to read.
    private var position = 0
    /// How many `(` and `not` enclose the current point.
    /// Invariant: at most `Query.maximumDepth`, which bounds the recursion.
    private var depth = 0

    /// Prepares to parse `text`.
    init(_ text: String) {
        characters = Array(text.unicodeScalars)
    }

    /// The whole query, or the first problem.
    mutating func parseQuery() throws(QueryError) -> Query.Expression {
        guard characters.count <= Query.maximumLength else {
            throw QueryError(
                offset: Query.maximumLength,
                message: "the query is \(characters.count) characters long; the limit is \(Query.maximumLength)"
            )
        }
        tokens = try QueryLexer.tokens(characters)
        if current.kind == .end {
            throw QueryError(offset: 0, message: "the query is empty (e.g. attribute:ecs.os-type == linux)")
        }
        let expression = try parseOr()
        switch current.kind {
        case .end:
            return expression
        case .closeParenthesis:
            throw QueryError(offset: current.offset, message: "unbalanced ')'")
        default:
            throw QueryError(
                offset: current.offset,
                message: "expected 'and', 'or' or the end of the query, found \(found(current))"
            )
        }
    }

    private var current: QueryToken { tokens[position] }

    private mutating func advance() -> QueryToken {
        let token = tokens[position]
        if token.kind != .end { position += 1 }
        return token
    }

    private func isWord(_ token: QueryToken, _ words: String...) -> Bool {
        if case .word(let word) = token.kind { return words.contains(word) }
        return false
    }

    /// How an error names a token.
    private func found(_ token: QueryToken) -> String {
        token.kind == .end ? "the end of the query" : "'\(token.text)'"
    }

    private mutating func parseOr() throws(QueryError) -> Query.Expression {
        var operands = [try parseAnd()]
        while current.kind == .or || isWord(current, "or") {
            _ = advance()
            operands.append(try parseAnd())
        }
        return Self.flattened(operands, isOr: true)
    }

    private mutating func parseAnd() throws(QueryError) -> Query.Expression {
        var operands = [try parseUnary()]
        while current.kind == .and || isWord(current, "and") {
            _ = advance()
            operands.append(try parseUnary())
        }
        return Self.flattened(operands, isOr: false)
    }

    /// One operand, or an `and`/`or` of them with nested operands of the same kind spliced in, so that
    /// `(a and b) and c` and `a and (b and c)` are the same tree as `a and b and c`.
    private static func flattened(_ operands: [Query.Expression], isOr: Bool) -> Query.Expression {
        if operands.count == 1 { return operands[0] }
        var flat: [Query.Expression] = []
        for operand in operands {
            switch (operand, isOr) {
            case (.or(let inner), true), (.and(let inner), false): flat.append(contentsOf: inner)
            default: flat.append(operand)
            }
        }
        return isOr ? .or(flat) : .and(flat)
    }

    private mutating func enter(_ token: QueryToken) throws(QueryError) {
        depth += 1
        guard depth <= Query.maximumDepth else {
            throw QueryError(
                offset: token.offset,
                message: "nested deeper than \(Query.maximumDepth) levels of '(' and 'not'; simplify the query"
            )
        }
    }

    private mutating func parseUnary() throws(QueryError) -> Query.Expression {
        let token = current
        if token.kind == .bang || isWord(token, "not") {
            try enter(token)
            _ = advance()
            let operand = try parseUnary()
            depth -= 1
            return .not(operand)
        }
        if token.kind == .openParenthesis {
            try enter(token)
            _ = advance()
            let inner = try parseOr()
            guard current.kind == .closeParenthesis else {
                if current.kind == .end {
                    throw QueryError(offset: token.offset, message: "unbalanced '(': add a matching ')'")
                }
                throw QueryError(
                    offset: current.offset,
                    message: "expected 'and', 'or' or ')', found \(found(current))"
                )
            }
            _ = advance()
            depth -= 1
            return inner
        }
        return .condition(try parseCondition())
    }

    private mutating func parseCondition() throws(QueryError) -> Query.Condition {
        let subjectToken = advance()
        let subject = try Self.subject(subjectToken)
        let operatorToken = advance()
        let name: String
        switch operatorToken.kind {
        case .word(let word), .symbol(let word): name = word
        default: name = ""
        }
        guard let op = Query.Operator.named(name) else {
            throw QueryError(
                offset: operatorToken.offset,
                message: "expected an operator after '\(subjectToken.text)' "
                    + "(==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~), found \(found(operatorToken))"
            )
        }
        try Self.check(op, written: operatorToken, for: subject)
        let values: [(value: String, offset: Int)]
        switch op {
        case .exists, .notExists:
            values = []
        case .in, .notIn:
            values = try parseList(after: operatorToken)
        default:
            let token = advance()
            guard let value = Self.value(token) else {
                throw QueryError(
                    offset: token.offset,
                    message: "expected a value after '\(operatorToken.text)' (e.g. attribute:zone \(op.rawValue) b)"
                )
            }
            values = [(value, token.offset)]
        }
        for (value, offset) in values {
            if let problem = Self.problem(value, for: subject, operator: op) {
                throw QueryError(offset: offset, message: problem)
            }
        }
        return Query.Condition(subject: subject, operator: op, values: values.map(\.value))
    }

    /// `[v1, v2, ...]`, at least one value.
    private mutating func parseList(
        after operatorToken: QueryToken
    ) throws(QueryError) -> [(value: String, offset: Int)] {
        let opening = advance()
        guard opening.kind == .openBracket else {
            throw QueryError(
                offset: opening.offset,
                message: "'\(operatorToken.text)' needs a list like [a, b], found \(found(opening))"
            )
        }
        var values: [(value: String, offset: Int)] = []
        while true {
            let token = advance()
            guard let value = Self.value(token) else {
                let message =
                    token.kind == .closeBracket && values.isEmpty
                    ? "'\(operatorToken.text)' needs at least one value in its list"
                    : "expected a value in the list, found \(found(token))"
                throw QueryError(offset: token.offset, message: message)
            }
            values.append((value, token.offset))
            let separator = advance()
            if separator.kind == .closeBracket { return values }
            guard separator.kind == .comma else {
                throw QueryError(
                    offset: separator.offset,
                    message: "expected ',' or ']' in the list, found \(found(separator))"
                )
            }
        }
    }

    /// The value a token spells, if it is a word or a quoted string.
    private static func value(_ token: QueryToken) -> String? {
        switch token.kind {
        case .word(let word): return word
        case .string(let string): return string
        default: return nil
        }
    }

    private static func subject(_ token: QueryToken) throws(QueryError) -> Query.Subject {
        guard case .word(let word) = token.kind else {
            let what = token.kind == .end ? "the end of the query" : "'\(token.text)'"
            throw QueryError(
                offset: token.offset,
                message: "expected a subject (\(Query.Subject.catalogue)), found \(what)"
            )
        }
        switch word {
        case "agentConnected": return .agentConnected
        case "agentVersion": return .agentVersion
        case "registeredAt": return .registeredAt
        case "runningTasksCount": return .runningTasksCount
        case "task:group": return .taskGroup
        default: break
        }
        guard word.hasPrefix("attribute:") else {
            throw QueryError(
                offset: token.offset,
                message: "unknown subject '\(word)' (subjects: \(Query.Subject.catalogue))"
            )
        }
        let name = String(word.dropFirst("attribute:".count))
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "-_/\\.".unicodeScalars.contains(scalar))
        }
        guard (1...128).contains(name.unicodeScalars.count), allowed else {
            throw QueryError(
                offset: token.offset,
                message: "attribute name '\(name)' must be 1 to 128 letters, digits, '-', '_', '/', '\\' or '.'"
            )
        }
        return .attribute(name)
    }

    /// Refuses operators that mean nothing for `subject`.
    private static func check(
        _ op: Query.Operator,
        written token: QueryToken,
        for subject: Query.Subject
    ) throws(QueryError) {
        let allowed: String
        switch (subject, op) {
        case (.attribute, _):
            return
        case (_, .exists), (_, .notExists):
            throw QueryError(offset: token.offset, message: "'\(token.text)' applies only to attribute:<name>")
        case (.agentConnected, .equals), (.agentConnected, .notEquals):
            return
        case (.agentConnected, _):
            allowed = "==, !="
        case (.taskGroup, .matches), (.taskGroup, .notMatches), (.agentVersion, .matches), (.agentVersion, .notMatches):
            return
        case (.taskGroup, _) where op.isOrdering:
            allowed = "==, !=, in, !in, =~, !~"
        case (.runningTasksCount, .matches), (.runningTasksCount, .notMatches), (.registeredAt, .matches),
            (.registeredAt, .notMatches):
            allowed = "==, !=, >, >=, <, <=, in, !in"
        default:
            return
        }
        throw QueryError(offset: token.offset, message: "'\(token.text)' does not apply to \(subject) (use \(allowed))")
    }

    /// Why `value` cannot be compared to `subject` with `op`, or nil.
    private static func problem(_ value: String, for subject: Query.Subject, operator op: Query.Operator) -> String? {
        if op == .matches || op == .notMatches {
            if let bad = value.unicodeScalars.first(where: { "[](){}^$+|\\".unicodeScalars.contains($0) }) {
                return "patterns support only the wildcards '*' and '?'; '\(bad)' is not supported"
            }
            return nil
        }
        switch subject {
        case .agentConnected:
            return value == "true" || value == "false"
                ? nil : "agentConnected compares to true or false, not '\(value)'"
        case .runningTasksCount:
            return QueryEvaluation.wholeNumber(value) == nil
                ? "runningTasksCount compares to a whole number, not '\(value)'" : nil
        case .registeredAt:
            return QueryDate.interval(value) == nil
                ? "registeredAt compares to a UTC date like 2026-01-31 or 2026-01-31T12:00:00Z, not '\(value)'" : nil
        case .attribute, .agentVersion, .taskGroup:
            return nil
        }
    }
}
