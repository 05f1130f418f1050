import Testing

@testable import ClusterState
@testable import Scheduler

/// 2026-01-31T12:00:00Z in ms since the epoch (computed independently).
let sampleRegisteredAt: Int64 = 1_769_860_800_000

/// An instance in us-east-1a: t2.micro, linux, 4 cores, a valueless `flag`, agent 1.70.2, 2 running tasks.
func sampleInstance(
    attributes: [Attribute] = [
        Attribute(name: "ecs.availability-zone", value: "us-east-1a"),
        Attribute(name: "ecs.instance-type", value: "t2.micro"),
        Attribute(name: "ecs.os-type", value: "linux"),
        Attribute(name: "cores", value: "4"),
        Attribute(name: "flag", value: nil),
    ],
    agentConnected: Bool = true,
    runningTasksCount: Int = 2
) -> ContainerInstance {
    ContainerInstance(
        containerInstanceArn: "arn:gantry:ecs:local:0:container-instance/default/abc",
        id: "abc",
        cluster: "default",
        hostname: "host-1",
        status: "ACTIVE",
        agentConnected: agentConnected,
        agentVersion: "1.70.2",
        registeredResources: [],
        remainingResources: [],
        attributes: attributes,
        runningTasksCount: runningTasksCount,
        pendingTasksCount: 0,
        registeredAt: sampleRegisteredAt,
        updatedAt: sampleRegisteredAt,
        version: 1
    )
}

/// A task of `group` on the sample instance.
func sampleTask(group: String, lastStatus: String = "RUNNING") -> TaskRecord {
    TaskRecord(
        taskArn: "arn:gantry:ecs:local:0:task/default/\(group)",
        id: group,
        clusterArn: "arn:gantry:ecs:local:0:cluster/default",
        cluster: "default",
        taskDefinitionArn: "arn:gantry:ecs:local:0:task-definition/web:1",
        containerInstanceArn: "arn:gantry:ecs:local:0:container-instance/default/abc",
        group: group,
        startedBy: nil,
        overrides: TaskOverrides(),
        lastStatus: lastStatus,
        desiredStatus: lastStatus == "STOPPED" ? "STOPPED" : "RUNNING",
        containers: [],
        stopCode: nil,
        stoppedReason: nil,
        cpu: 256,
        memory: 512,
        epoch: 1,
        createdAt: 0,
        startedAt: nil,
        stoppingAt: nil,
        stoppedAt: nil,
        version: 1
    )
}

/// service:production running, family:batch stopped.
let sampleTasks = [sampleTask(group: "service:production"), sampleTask(group: "family:batch", lastStatus: "STOPPED")]

/// Parses `text` (failing the test if it does not parse) and evaluates it on the sample instance.
func evaluate(_ text: String, instance: ContainerInstance = sampleInstance()) throws -> Bool {
    let query = try Query.parse(text)
    return query.matches(instance, tasksOnInstance: sampleTasks)
}

/// (subject, operator, operand text, expected on the sample instance).
let operatorCases: [(String, Query.Operator, String, Bool)] = [
    ("attribute:cores", .equals, "4", true),
    ("attribute:cores", .equals, "5", false),
    ("attribute:ecs.os-type", .equals, "linux", true),
    ("attribute:cores", .notEquals, "5", true),
    ("attribute:cores", .notEquals, "4.0", false),
    ("attribute:cores", .greaterThan, "3", true),
    ("attribute:cores", .greaterThan, "4", false),
    ("attribute:cores", .greaterThanEqual, "4", true),
    ("attribute:cores", .greaterThanEqual, "5", false),
    ("attribute:cores", .lessThan, "10", true),
    ("attribute:cores", .lessThan, "4", false),
    ("attribute:cores", .lessThanEqual, "4", true),
    ("attribute:cores", .lessThanEqual, "3", false),
    ("attribute:ecs.os-type", .lessThan, "mac", true),
    ("attribute:gpu", .notEquals, "x", true),
    ("attribute:gpu", .greaterThan, "1", false),
    ("attribute:ecs.os-type", .equals, "'linux'", true),
    ("attribute:ecs.os-type", .equals, "\"Linux\"", false),
    ("attribute:flag", .exists, "", true),
    ("attribute:gpu", .exists, "", false),
    ("attribute:gpu", .notExists, "", true),
    ("attribute:flag", .notExists, "", false),
    ("attribute:ecs.os-type", .in, "[linux, windows]", true),
    ("attribute:ecs.os-type", .in, "[windows]", false),
    ("attribute:ecs.os-type", .notIn, "[windows]", true),
    ("attribute:ecs.os-type", .notIn, "[windows, linux]", false),
    ("attribute:ecs.instance-type", .matches, "t2.*", true),
    ("attribute:ecs.instance-type", .matches, "m5.*", false),
    ("attribute:ecs.instance-type", .notMatches, "m5.*", true),
    ("attribute:ecs.instance-type", .notMatches, "t?.micro", false),
    ("agentConnected", .equals, "true", true),
    ("agentConnected", .equals, "false", false),
    ("agentConnected", .notEquals, "false", true),
    ("agentVersion", .greaterThanEqual, "1.9.0", true),
    ("agentVersion", .lessThan, "1.9.0", false),
    ("agentVersion", .matches, "1.70.*", true),
    ("registeredAt", .equals, "2026-01-31", true),
    ("registeredAt", .equals, "2026-01-31T12:00:00Z", true),
    ("registeredAt", .equals, "2026-01-31T12:00:01Z", false),
    ("registeredAt", .greaterThan, "2026-01-30", true),
    ("registeredAt", .greaterThan, "2026-01-31", false),
    ("registeredAt", .lessThan, "2026-01-31T12:00:00Z", false),
    ("registeredAt", .lessThanEqual, "2026-01-31T12:00:00Z", true),
    ("registeredAt", .greaterThanEqual, "2026-02-01", false),
    ("registeredAt", .in, "[2025-12-25, 2026-01-31]", true),
    ("runningTasksCount", .equals, "2", true),
    ("runningTasksCount", .in, "[0, 1]", false),
    ("runningTasksCount", .greaterThan, "1", true),
    ("runningTasksCount", .lessThanEqual, "1", false),
    ("task:group", .equals, "service:production", true),
    ("task:group", .equals, "family:batch", false),
    ("task:group", .notEquals, "family:batch", true),
    ("task:group", .matches, "service:*", true),
    ("task:group", .notMatches, "service:*", false),
    ("task:group", .in, "[family:web, service:production]", true),
    ("task:group", .notIn, "[service:production]", false),
]

@Test("every operator, in symbol and word form, parses to the same query and evaluates as expected")
func everyOperator() throws {
    for (subject, op, operand, expected) in operatorCases {
        let symbolText = "\(subject) \(op.rawValue) \(operand)"
        let wordText = "\(subject) \(op.word) \(operand)"
        let symbolForm = try Query.parse(symbolText)
        let wordForm = try Query.parse(wordText)
        #expect(symbolForm == wordForm, "\(wordText)")
        #expect(
            symbolForm.matches(sampleInstance(), tasksOnInstance: sampleTasks) == expected,
            "\(symbolText) should be \(expected)"
        )
    }
    let covered = Set(operatorCases.map(\.1.rawValue))
    #expect(covered == Set(Query.Operator.allCases.map(\.rawValue)))
}

@Test("not binds tighter than and, and tighter than or; parentheses override")
func precedence() throws {
    let a = "attribute:a == 1"
    let b = "attribute:b == 1"
    let c = "attribute:c == 1"
    let (ca, cb, cc) = (try Query.parse(a).expression, try Query.parse(b).expression, try Query.parse(c).expression)
    #expect(try Query.parse("\(a) or \(b) and \(c)").expression == .or([ca, .and([cb, cc])]))
    #expect(try Query.parse("\(a) || \(b) && \(c)").expression == .or([ca, .and([cb, cc])]))
    #expect(try Query.parse("(\(a) or \(b)) and \(c)").expression == .and([.or([ca, cb]), cc]))
    #expect(try Query.parse("not \(a) and \(b)").expression == .and([.not(ca), cb]))
    #expect(try Query.parse("!\(a) or \(b)").expression == .or([.not(ca), cb]))
    #expect(try Query.parse("not (\(a) and \(b))").expression == .not(.and([ca, cb])))
    #expect(try Query.parse("(\(a) and \(b)) and \(c)") == Query.parse("\(a) and (\(b) and \(c))"))

    #expect(try evaluate("attribute:cores == 4 or attribute:cores == 5 and attribute:cores == 6"))
    #expect(try !evaluate("(attribute:cores == 4 or attribute:cores == 5) and attribute:cores == 6"))
    #expect(try evaluate("not attribute:cores == 5 and attribute:cores == 4"))
    #expect(try evaluate("not (attribute:cores == 4 and attribute:gpu exists)"))
    #expect(try !evaluate("!(attribute:cores == 4) || attribute:gpu exists"))
    #expect(try evaluate("not not attribute:flag exists"))
}

/// (text, offset, message) for each refusal.
let errorCases: [(String, Int, String)] = [
    ("attribute:zone ==", 17, "expected a value after '==' (e.g. attribute:zone == b)"),
    ("attribute:zone equals )", 22, "expected a value after 'equals' (e.g. attribute:zone == b)"),
    ("atribute:zone == b", 0, "unknown subject 'atribute:zone' (subjects: \(Query.Subject.catalogue))"),
    ("attribute:a == b)", 16, "unbalanced ')'"),
    ("(attribute:a == b", 0, "unbalanced '(': add a matching ')'"),
    ("attribute:a in b", 15, "'in' needs a list like [a, b], found 'b'"),
    ("attribute:a not_in", 18, "'not_in' needs a list like [a, b], found the end of the query"),
    ("attribute:a in []", 16, "'in' needs at least one value in its list"),
    ("attribute:a in [b c]", 18, "expected ',' or ']' in the list, found 'c'"),
    ("attribute:a in [b,", 18, "expected a value in the list, found the end of the query"),
    ("attribute:a = b", 12, "unexpected '=' (did you mean '=='?)"),
    ("attribute:a == b & c", 17, "unexpected '&' (did you mean '&&' or 'and'?)"),
    ("attribute:a == b | c", 17, "unexpected '|' (did you mean '||' or 'or'?)"),
    ("attribute:a == \"b", 15, "unterminated string: add a closing \""),
    ("attribute:a == b $", 17, "unexpected character '$' (quote values that contain it, e.g. \"a b\")"),
    ("", 0, "the query is empty (e.g. attribute:ecs.os-type == linux)"),
    ("   ", 0, "the query is empty (e.g. attribute:ecs.os-type == linux)"),
    ("attribute:a == b c", 17, "expected 'and', 'or' or the end of the query, found 'c'"),
    ("(attribute:a == b c)", 18, "expected 'and', 'or' or ')', found 'c'"),
    (
        "attribute:a b", 12,
        "expected an operator after 'attribute:a' (==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~), found 'b'"
    ),
    ("attribute:a == b and", 20, "expected a subject (\(Query.Subject.catalogue)), found the end of the query"),
    ("attribute: == b", 0, "attribute name '' must be 1 to 128 letters, digits, '-', '_', '/', '\\' or '.'"),
    ("attribute:a* == b", 0, "attribute name 'a*' must be 1 to 128 letters, digits, '-', '_', '/', '\\' or '.'"),
    ("runningTasksCount == two", 21, "runningTasksCount compares to a whole number, not 'two'"),
    ("runningTasksCount in [1, -1]", 25, "runningTasksCount compares to a whole number, not '-1'"),
    (
        "registeredAt > 2026-02-30", 15,
        "registeredAt compares to a UTC date like 2026-01-31 or 2026-01-31T12:00:00Z, not '2026-02-30'"
    ),
    ("agentConnected == yes", 18, "agentConnected compares to true or false, not 'yes'"),
    ("agentConnected > true", 15, "'>' does not apply to agentConnected (use ==, !=)"),
    ("task:group less_than a", 11, "'less_than' does not apply to task:group (use ==, !=, in, !in, =~, !~)"),
    ("runningTasksCount =~ 1*", 18, "'=~' does not apply to runningTasksCount (use ==, !=, >, >=, <, <=, in, !in)"),
    ("task:group exists", 11, "'exists' applies only to attribute:<name>"),
    ("attribute:a =~ \"t2[0-9]\"", 15, "patterns support only the wildcards '*' and '?'; '[' is not supported"),
]

@Test("each refusal names the offset and says what to do")
func errors() {
    for (text, offset, message) in errorCases {
        #expect(throws: QueryError(offset: offset, message: message), "\(text)") { try Query.parse(text) }
    }
    #expect(QueryError(offset: 17, message: "x").description == "at 17: x")
}

/// Expressions whose canonical form is checked to reparse to the same tree.
let roundTripCases = [
    "attribute:ecs.instance-type =~ t2.*",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    "task:group == service:production",
    "not(task:group == database)",
    "runningTasksCount == 0",
    "attribute:a/b.c-d_e == c:d@e",
    "attribute:x equals 'has space' && (attribute:y !exists || not attribute:z not_in [\"q\\\"uote\", \"back\\\\slash\"])",
    "!(attribute:a == \"and\" or attribute:b == \"\") and registeredAt >= 2026-01-31T12:00:00Z",
    "((attribute:a == 1 or attribute:b == 2) or attribute:c == 3) and not not agentConnected == false",
    "attribute:a\\b == x or agentVersion > 1.2 and attribute:n == \"caf\u{E9}\"",
]

@Test("the canonical description reparses to the same query")
func roundTrip() throws {
    for text in roundTripCases {
        let query = try Query.parse(text)
        #expect(try Query.parse(query.description) == query, "\(text) → \(query)")
    }
    let canonical = try Query.parse("not(task:group equals database) and (attribute:a == 'x y' || attribute:b !exists)")
    #expect(canonical.description == "not task:group == database and (attribute:a == \"x y\" or attribute:b !exists)")
    #expect(try Query.parse("attribute:a in [ b ,c ]").description == "attribute:a in [b, c]")
    #expect(
        try Query.parse("not (attribute:a exists and attribute:b exists)").description
            == "not (attribute:a exists and attribute:b exists)"
    )
}

@Test("at most 2000 characters and 32 levels of nesting")
func limits() throws {
    let prefix = "attribute:a == "
    let fits = prefix + String(repeating: "x", count: Query.maximumLength - prefix.count)
    #expect(try Query.parse(fits).description == fits)
    #expect(throws: QueryError(offset: 2000, message: "the query is 2001 characters long; the limit is 2000")) {
        try Query.parse(fits + "x")
    }
    let condition = "attribute:a exists"
    let deepest = String(repeating: "(", count: 32) + condition + String(repeating: ")", count: 32)
    #expect(try Query.parse(deepest) == Query.parse(condition))
    let tooDeep = "(" + deepest + ")"
    let depthMessage = "nested deeper than 32 levels of '(' and 'not'; simplify the query"
    #expect(throws: QueryError(offset: 32, message: depthMessage)) { try Query.parse(tooDeep) }
    let nots = String(repeating: "not ", count: 32) + condition
    #expect(try Query.parse(Query.parse(nots).description) == Query.parse(nots))
    #expect(throws: QueryError(offset: 128, message: depthMessage)) { try Query.parse("not " + nots) }
    let wide = Array(repeating: condition, count: 80).joined(separator: " and ")
    guard case .and(let operands) = try Query.parse(wide).expression else {
        Issue.record("expected an and")
        return
    }
    #expect(operands.count == 80)
}

@Test("expressions from the ECS documentation")
func documentedExamples() throws {
    #expect(try evaluate("attribute:ecs.instance-type =~ t2.*"))
    #expect(try !evaluate("attribute:ecs.instance-type =~ t2.*", instance: sampleInstance(attributes: [])))
    #expect(try evaluate("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"))
    #expect(try !evaluate("attribute:ecs.availability-zone in [us-east-1c]"))
    #expect(try evaluate("task:group == service:production"))
    #expect(try evaluate("not(task:group == database)"))
    #expect(try !evaluate("not(task:group == service:production)"))
    #expect(try !evaluate("runningTasksCount == 0"))
    #expect(try evaluate("runningTasksCount == 0", instance: sampleInstance(runningTasksCount: 0)))
    #expect(try evaluate("attribute:ecs.os-type == linux and agentConnected == true and registeredAt < 2027-01-01"))
    #expect(try !evaluate("agentConnected == true", instance: sampleInstance(agentConnected: false)))
}

@Test("wildcards: * matches any run, ? one character, everything else itself")
func wildcards() {
    let cases: [(String, String, Bool)] = [
        ("*", "", true), ("?", "", false), ("?", "a", true), ("t2.*", "t2.micro", true), ("t2.*", "t2", false),
        ("t2.*", "t2xmicro", false), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYbZ", false),
        ("*.large", "m5.large", true), ("m?.large", "m55.large", false), ("**a**", "bab", true),
    ]
    for (pattern, text, expected) in cases {
        #expect(QueryEvaluation.wildcard(pattern, matches: text) == expected, "\(pattern) ~ \(text)")
    }
    let long = String(repeating: "a", count: 2000)
    #expect(!QueryEvaluation.wildcard(String(repeating: "*a", count: 100) + "b", matches: long))
}

@Test("dates are UTC, validated, and name a day or a second")
func dates() {
    #expect(QueryDate.interval("1970-01-01") == 0..<86_400_000)
    #expect(QueryDate.interval("2000-02-29") == 951_782_400_000..<951_868_800_000)
    #expect(QueryDate.interval("2026-01-31T12:00:00Z") == sampleRegisteredAt..<sampleRegisteredAt + 1000)
    for bad in ["2001-02-29", "2026-13-01", "2026-00-10", "2026-1-31", "2026-01-31T24:00:00Z", "2026-01-31T12:00:00"] {
        #expect(QueryDate.interval(bad) == nil, "\(bad)")
    }
}

/// SplitMix64, so a failing seed replays.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Test("random bytes and random token soup never crash; whatever parses round-trips and evaluates")
func fuzz() {
    let seed: UInt64 = 0x5EED_0001
    var generator = SeededGenerator(state: seed)
    let pieces = [
        "attribute:a", "attribute:ecs.os-type", "task:group", "runningTasksCount", "registeredAt", "agentConnected",
        "agentVersion", "==", "!=", ">", ">=", "<", "<=", "=~", "!~", "exists", "!exists", "in", "!in", "not_in",
        "matches", "and", "or", "not", "&&", "||", "!", "(", ")", "[", "]", ",", "\"", "'", "\\", "x", "linux",
        "2026-01-31", "1", "t2.*", " ", "=", "&", "é", "\u{301}",
    ]
    var parsed = 0
    for round in 0..<3000 {
        let text: String
        if round % 3 == 2 {
            text = randomQuery(depth: 0, using: &generator)
        } else if round.isMultiple(of: 3) {
            let bytes = (0..<Int.random(in: 0...48, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            text = String(decoding: bytes, as: UTF8.self)
        } else {
            text = (0..<Int.random(in: 0...16, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined(separator: Bool.random(using: &generator) ? " " : "")
        }
        do {
            let query = try Query.parse(text)
            parsed += 1
            #expect(try Query.parse(query.description) == query, "seed \(seed) round \(round): \(text)")
            _ = query.matches(sampleInstance(), tasksOnInstance: sampleTasks)
        } catch {
            #expect(error.offset >= 0 && error.offset <= text.unicodeScalars.count, "seed \(seed) round \(round)")
        }
    }
    // The token soup must reach the evaluator sometimes, or the round-trip check proves nothing.
    #expect(parsed > 500, "only \(parsed) of 3000 inputs parsed")
}

/// A grammatical query with random spellings, nesting and operands.
func randomQuery(depth: Int, using generator: inout SeededGenerator) -> String {
    let choice = depth > 4 ? 0 : Int.random(in: 0...5, using: &generator)
    switch choice {
    case 3: return "not " + randomQuery(depth: depth + 1, using: &generator)
    case 4:
        let joiner = ["and", "&&", "or", "||"].randomElement(using: &generator)!
        return "(\(randomQuery(depth: depth + 1, using: &generator)) \(joiner) "
            + "\(randomQuery(depth: depth + 1, using: &generator)))"
    case 5:
        return randomQuery(depth: depth + 1, using: &generator) + " or "
            + randomQuery(depth: depth + 1, using: &generator)
    default:
        let values = ["linux", "\"a b\"", "'it\\'s'", "t2.*", "1.5", "\"\"", "and", "x\\y"]
        let subject = ["attribute:ecs.os-type", "attribute:cores", "attribute:flag", "agentVersion", "task:group"]
            .randomElement(using: &generator)!
        let op = Query.Operator.allCases.randomElement(using: &generator)!
        let spelling = Bool.random(using: &generator) ? op.rawValue : op.word
        switch op {
        case .exists, .notExists:
            return "attribute:x\(Int.random(in: 0...3, using: &generator)) \(spelling)"
        case .in, .notIn:
            let list = (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                values.randomElement(using: &generator)!
            }
            return "\(subject) \(spelling) [\(list.joined(separator: ", "))]"
        case .matches, .notMatches:
            return "\(subject) \(spelling) \(["t2.*", "?inux", "*", "\"a*b\""].randomElement(using: &generator)!)"
        default:
            return "\(subject) \(spelling) \(values.randomElement(using: &generator)!)"
        }
    }
}
