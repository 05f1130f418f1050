package import ClusterState

extension Query {
    /// Whether `instance` satisfies the query, given the tasks placed on it (STOPPED ones are ignored).
    ///
    /// `task:group == X` holds when any task on the instance that is not STOPPED has group X (ECS
    /// semantics), so `not (task:group == X)` expresses "no task of X here". Negated operators are the
    /// exact negation of their positive form (see `Query`).
    package func matches(_ instance: ContainerInstance, tasksOnInstance: [TaskRecord]) -> Bool {
        QueryEvaluation(instance: instance, tasks: tasksOnInstance).holds(expression)
    }
}

/// One evaluation: an instance and its tasks.
struct QueryEvaluation {
    /// The instance being tested.
    let instance: ContainerInstance
    /// Tasks on it, of any status.
    let tasks: [TaskRecord]

    func holds(_ expression: Query.Expression) -> Bool {
        switch expression {
        case .condition(let condition): return holds(condition)
        case .not(let operand): return !holds(operand)
        case .and(let operands): return operands.allSatisfy(holds)
        case .or(let operands): return operands.contains(where: holds)
        }
    }

    private func holds(_ condition: Query.Condition) -> Bool {
        let op = condition.operator
        let positive = op.isNegated ? Self.positive(of: op) : op
        let result = holdsPositive(condition.subject, positive, condition.values)
        return op.isNegated ? !result : result
    }

    private static func positive(of op: Query.Operator) -> Query.Operator {
        switch op {
        case .notEquals: return .equals
        case .notExists: return .exists
        case .notIn: return .in
        case .notMatches: return .matches
        default: return op
        }
    }

    /// `op` is never negated here.
    private func holdsPositive(_ subject: Query.Subject, _ op: Query.Operator, _ values: [String]) -> Bool {
        switch subject {
        case .attribute(let name):
            guard let attribute = instance.attributes.first(where: { $0.name == name }) else { return false }
            return op == .exists || Self.holds(attribute.value ?? "", op, values, compare: Self.compareText)
        case .agentVersion:
            return Self.holds(instance.agentVersion, op, values, compare: Self.compareVersion)
        case .taskGroup:
            let groups = tasks.filter { $0.lastStatus != "STOPPED" }.map(\.group)
            return groups.contains { Self.holds($0, op, values, compare: Self.compareText) }
        case .agentConnected:
            return values.contains(String(instance.agentConnected))
        case .runningTasksCount:
            let count = Int64(instance.runningTasksCount)
            return Self.holds(String(count), op, values) { lhs, rhs in
                // Both are whole numbers: the parser checked the value, and the count prints as one.
                Self.compare(Self.wholeNumber(lhs) ?? 0, Self.wholeNumber(rhs) ?? 0)
            }
        case .registeredAt:
            return values.contains { value in
                guard let day = QueryDate.interval(value) else { return false }
                return Self.holds(instance.registeredAt, op, within: day)
            }
        }
    }

    /// `actual op values` under `compare` (`in` is `==` against any value; `=~` is a wildcard match).
    private static func holds(
        _ actual: String,
        _ op: Query.Operator,
        _ values: [String],
        compare: (String, String) -> Int
    ) -> Bool {
        switch op {
        case .matches: return values.contains { wildcard($0, matches: actual) }
        case .equals, .in: return values.contains { compare(actual, $0) == 0 }
        case .greaterThan: return values.contains { compare(actual, $0) > 0 }
        case .greaterThanEqual: return values.contains { compare(actual, $0) >= 0 }
        case .lessThan: return values.contains { compare(actual, $0) < 0 }
        case .lessThanEqual: return values.contains { compare(actual, $0) <= 0 }
        case .exists: return true
        case .notEquals, .notExists, .notIn, .notMatches: return false
        }
    }

    /// `time op value`, where the value names the half-open interval `range` (a day or a second).
    private static func holds(_ time: Int64, _ op: Query.Operator, within range: Range<Int64>) -> Bool {
        switch op {
        case .equals, .in: return range.contains(time)
        case .lessThan: return time < range.lowerBound
        case .lessThanEqual: return time < range.upperBound
        case .greaterThan: return time >= range.upperBound
        case .greaterThanEqual: return time >= range.lowerBound
        default: return false
        }
    }

    private static func compare<T: Comparable>(_ lhs: T, _ rhs: T) -> Int {
        lhs < rhs ? -1 : (lhs == rhs ? 0 : 1)
    }

    /// Numbers compare numerically, dotted versions (`1.70.2`) component by component, anything else
    /// as strings.
    static func compareText(_ lhs: String, _ rhs: String) -> Int {
        if let left = decimal(lhs), let right = decimal(rhs) { return compare(left, right) }
        if let left = version(lhs), let right = version(rhs) {
            for (a, b) in zip(left, right) where a != b { return compare(a, b) }
            return compare(left.count, right.count)
        }
        return compare(lhs, rhs)
    }

    /// Like `compareText`, but `1.10` is after `1.9`.
    static func compareVersion(_ lhs: String, _ rhs: String) -> Int {
        if let left = version(lhs), let right = version(rhs) {
            for (a, b) in zip(left, right) where a != b { return compare(a, b) }
            return compare(left.count, right.count)
        }
        return compareText(lhs, rhs)
    }

    /// `-?digits(.digits)?` as a Double; nothing looser (no `inf`, `nan`, exponents or hex).
    static func decimal(_ text: String) -> Double? {
        var body = Substring(text)
        if body.first == "-" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) })
        else { return nil }
        return Double(text)
    }

    /// `digits(.digits)+` as its components, each at most 18 digits.
    static func version(_ text: String) -> [Int64]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        var result: [Int64] = []
        for part in parts {
            guard (1...18).contains(part.count), part.allSatisfy(\.isASCIIDigit), let number = Int64(part) else {
                return nil
            }
            result.append(number)
        }
        return result
    }

    /// A non-negative whole number of at most 18 digits.
    static func wholeNumber(_ text: String) -> Int64? {
        guard (1...18).contains(text.count), text.allSatisfy(\.isASCIIDigit) else { return nil }
        return Int64(text)
    }

    /// Whether `text` matches `pattern`, where `*` matches any run of scalars and `?` exactly one.
    /// Greedy with one backtrack point (the last `*`): O(pattern × text) time, O(1) extra space.
    static func wildcard(_ pattern: String, matches text: String) -> Bool {
        let pattern = Array(pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        var p = 0
        var t = 0
        var star: Int? = nil
        var resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = t
                p += 1
            } else if let starAt = star {
                p = starAt + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

extension Character {
    /// `0`-`9` only.
    fileprivate var isASCIIDigit: Bool { asciiValue.map { (48...57).contains($0) } ?? false }
}

/// UTC dates for `registeredAt`, without Foundation.
enum QueryDate {
    private static let dayMilliseconds: Int64 = 86_400_000

    /// `YYYY-MM-DD` as that UTC day, `YYYY-MM-DDTHH:MM:SSZ` as that second, in ms since the epoch;
    /// nil if malformed or out of range (years 1970-9999).
    static func interval(_ text: String) -> Range<Int64>? {
        let scalars = Array(text.unicodeScalars)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= scalars.count else { return nil }
            var value: Int64 = 0
            for index in range {
                guard ("0"..."9").contains(scalars[index]) else { return nil }
                value = value * 10 + Int64(scalars[index].value - 48)
            }
            return value
        }
        func symbol(_ index: Int, _ expected: Unicode.Scalar) -> Bool {
            index < scalars.count && scalars[index] == expected
        }
        guard scalars.count == 10 || scalars.count == 20, symbol(4, "-"), symbol(7, "-"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1970...9999).contains(year), (1...12).contains(month), (1...daysIn(month, of: year)).contains(day)
        else { return nil }
        let midnight = daysSinceEpoch(year: year, month: month, day: day) * dayMilliseconds
        if scalars.count == 10 { return midnight..<(midnight + dayMilliseconds) }
        guard symbol(10, "T"), symbol(13, ":"), symbol(16, ":"), symbol(19, "Z"),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let start = midnight + ((hour * 60 + minute) * 60 + second) * 1000
        return start..<(start + 1000)
    }

    private static func daysIn(_ month: Int64, of year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's days_from_civil).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
