import ClusterState
import Testing
import Wire

/// A command at leader time `time` writing `name = value`.
func put(
    _ name: String,
    _ value: String,
    expected: UInt64? = nil,
    secret: Bool = false,
    token: String? = nil,
    time: Int64 = 1_000
) -> Command {
    Command(
        clientToken: token,
        time: time,
        action: .putParameter(ParameterWrite(name: name, value: value, secret: secret, expectedVersion: expected))
    )
}

@Suite("StateMachine")
struct StateMachineTests {
    @Test("a put creates version 1 and each further put adds one")
    func versions() {
        var state = StateMachine()
        #expect(state.apply(put("app/db", "a"), at: 1) == .parameterWritten(name: "app/db", version: 1))
        #expect(state.apply(put("app/db", "b", time: 2_000), at: 2) == .parameterWritten(name: "app/db", version: 2))
        let stored = state.parameters["app/db"]
        #expect(stored?.value == "b")
        #expect(stored?.created == 1_000)
        #expect(stored?.modified == 2_000)
        #expect(stored?.modifiedIndex == 2)
        #expect(state.appliedIndex == 2)
    }

    @Test("compare-and-set: 0 means create-only, N means at version N, a mismatch changes nothing")
    func compareAndSet() {
        var state = StateMachine()
        #expect(state.apply(put("k", "a", expected: 0), at: 1) == .parameterWritten(name: "k", version: 1))
        #expect(state.apply(put("k", "b", expected: 0), at: 2) == .versionConflict(name: "k", expected: 0, actual: 1))
        #expect(state.apply(put("k", "c", expected: 7), at: 3) == .versionConflict(name: "k", expected: 7, actual: 1))
        #expect(state.parameters["k"]?.value == "a")
        #expect(state.apply(put("k", "d", expected: 1), at: 4) == .parameterWritten(name: "k", version: 2))
        #expect(state.parameters["k"]?.value == "d")
    }

    @Test("delete: not found, version conflict, then deleted")
    func delete() {
        var state = StateMachine()
        let missing = Command(time: 1, action: .deleteParameter(name: "k", expectedVersion: nil))
        #expect(state.apply(missing, at: 1) == .parameterNotFound(name: "k"))
        _ = state.apply(put("k", "v"), at: 2)
        let stale = Command(time: 1, action: .deleteParameter(name: "k", expectedVersion: 5))
        #expect(state.apply(stale, at: 3) == .versionConflict(name: "k", expected: 5, actual: 1))
        let good = Command(time: 1, action: .deleteParameter(name: "k", expectedVersion: 1))
        #expect(state.apply(good, at: 4) == .parameterDeleted(name: "k", version: 1))
        #expect(state.parameters["k"] == nil)
    }

    @Test("a retried command with the same client token returns the first result and applies once")
    func tokenDeduplication() {
        var state = StateMachine()
        let first = state.apply(put("k", "a", token: "t-1"), at: 1)
        let retry = state.apply(put("k", "a", token: "t-1"), at: 2)
        #expect(first == .parameterWritten(name: "k", version: 1))
        #expect(retry == first)
        #expect(state.parameters["k"]?.version == 1)
        #expect(state.apply(put("k", "a", token: "t-2"), at: 3) == .parameterWritten(name: "k", version: 2))
    }

    @Test("tokens expire after the retention period by leader time")
    func tokenExpiry() {
        var state = StateMachine()
        _ = state.apply(put("k", "a", token: "t", time: 0), at: 1)
        let later = StateMachine.tokenRetentionMilliseconds + 1
        #expect(state.apply(put("k", "a", token: "t", time: later), at: 2) == .parameterWritten(name: "k", version: 2))
        #expect(state.rememberedTokenCount == 1)
    }

    @Test("invalid names and oversized values are rejected in apply, naming the field")
    func applyValidates() {
        var state = StateMachine()
        #expect(
            state.apply(put("/bad", "v"), at: 1)
                == .rejected(field: "name", reason: "must not start or end with '/' or contain '//'")
        )
        let big = String(repeating: "x", count: ParameterRules.maxValueBytes + 1)
        guard case .rejected(let field, _) = state.apply(put("k", big), at: 2) else {
            Issue.record("oversized value accepted")
            return
        }
        #expect(field == "value")
        #expect(
            state.apply(put("k", String(repeating: "x", count: ParameterRules.maxValueBytes)), at: 3)
                == .parameterWritten(name: "k", version: 1)
        )
        #expect(state.appliedIndex == 3)
    }

    @Test("undecodable command bytes are rejected the same way on every node")
    func undecodable() {
        var a = StateMachine()
        var b = StateMachine()
        let ra = a.apply(commandBytes: [0xFF, 0x00], at: 1)
        let rb = b.apply(commandBytes: [0xFF, 0x00], at: 1)
        #expect(ra == rb)
        guard case .rejected(let field, _) = ra else {
            Issue.record("garbage applied: \(ra)")
            return
        }
        #expect(field == "command")
        #expect(a == b)
    }

    @Test("a snapshot restores an equal state, tokens included")
    func snapshotRoundTrip() throws {
        var state = StateMachine()
        for index in 1...50 {
            _ = state.apply(
                put("p/\(index % 7)", "v\(index)", secret: index % 2 == 0, token: "t\(index)"),
                at: UInt64(index)
            )
        }
        _ = state.apply(Command(time: 5, action: .setMemberAddress(id: 4, address: "10.0.0.4:7000")), at: 51)
        let restored = try StateMachine.restore(state.snapshot())
        #expect(restored == state)
        #expect(restored.memberAddresses[4] == "10.0.0.4:7000")
        var continued = restored
        #expect(continued.apply(put("p/1", "v1", token: "t1"), at: 52) == .parameterWritten(name: "p/1", version: 1))
    }

    @Test("restore refuses truncated or foreign bytes")
    func restoreRefusesGarbage() {
        var state = StateMachine()
        _ = state.apply(put("k", "v"), at: 1)
        let bytes = state.snapshot()
        #expect(throws: WireError.self) { try StateMachine.restore(Array(bytes.dropLast())) }
        #expect(throws: WireError.self) { try StateMachine.restore([9] + bytes.dropFirst()) }
    }

    @Test("list by prefix is sorted and exact")
    func listByPrefix() {
        var state = StateMachine()
        for (index, name) in ["b/x", "a/z", "a/y", "ab"].enumerated() {
            _ = state.apply(put(name, "v"), at: UInt64(index + 1))
        }
        #expect(state.parameters(withPrefix: "a/").map(\.name) == ["a/y", "a/z"])
        #expect(state.parameters(withPrefix: "").map(\.name) == ["a/y", "a/z", "ab", "b/x"])
    }
}

@Suite("Command codec and rules")
struct CommandCodecTests {
    @Test("every action and result round-trips through its encoding")
    func roundTrip() throws {
        let commands = [
            put("a/b", "value", expected: 3, secret: true, token: "tok"),
            put("c", "", time: -5),
            Command(time: 9, action: .deleteParameter(name: "a", expectedVersion: nil)),
            Command(clientToken: "x", time: 9, action: .deleteParameter(name: "a", expectedVersion: 0)),
            Command(time: 1, action: .setMemberAddress(id: 7, address: "127.0.0.1:7007")),
            Command(time: 1, action: .removeMemberAddress(id: 7)),
        ]
        for command in commands {
            #expect(try Command.decode(command.encoded()) == command)
        }
        let results: [CommandResult] = [
            .parameterWritten(name: "a", version: 2), .parameterDeleted(name: "a", version: 9),
            .versionConflict(name: "a", expected: 1, actual: 2), .parameterNotFound(name: "q"),
            .memberAddressUpdated(id: 3), .rejected(field: "name", reason: "bad"),
        ]
        for result in results {
            #expect(try CommandResult.decode(result.encoded()) == result)
        }
    }

    @Test("parameter names: the rules and their messages")
    func nameRules() {
        #expect(ParameterRules.nameProblem("app/db/password") == nil)
        #expect(ParameterRules.nameProblem("A-b_c.d") == nil)
        #expect(ParameterRules.nameProblem("") == "must not be empty")
        #expect(ParameterRules.nameProblem("a//b") != nil)
        #expect(ParameterRules.nameProblem("a/") != nil)
        #expect(ParameterRules.nameProblem("a/../b") != nil)
        #expect(ParameterRules.nameProblem("a b")?.contains("' '") == true)
        #expect(ParameterRules.nameProblem(String(repeating: "a", count: 257)) != nil)
        #expect(ParameterRules.addressProblem("127.0.0.1:7001") == nil)
        #expect(ParameterRules.addressProblem("127.0.0.1") != nil)
        #expect(ParameterRules.addressProblem("h:0") != nil)
    }
}
