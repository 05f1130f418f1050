import Wire

/// A stored parameter.
package struct Parameter: Sendable, Equatable {
    /// Its name.
    package var name: String
    /// Its value.
    package var value: String
    /// Whether list calls hide it.
    package var secret: Bool
    /// 1 when created, +1 on every write.
    package var version: UInt64
    /// Leader time of the creating command (ms since the epoch).
    package var created: Int64
    /// Leader time of the last write.
    package var modified: Int64
    /// Log index of the last write.
    package var modifiedIndex: UInt64

    /// Creates a parameter.
    package init(
        name: String,
        value: String,
        secret: Bool,
        version: UInt64,
        created: Int64,
        modified: Int64,
        modifiedIndex: UInt64
    ) {
        self.name = name
        self.value = value
        self.secret = secret
        self.version = version
        self.created = created
        self.modified = modified
        self.modifiedIndex = modifiedIndex
    }
}

/// The replicated state machine: every node applies the same committed commands in the same order and so holds the
/// same state. Pure: no clock, no randomness; the time a command needs is inside it.
package struct StateMachine: Sendable {
    /// A remembered client token.
    struct TokenRecord: Sendable, Equatable {
        var token: String
        var time: Int64
        var result: CommandResult
        /// `Command.Action.idempotencyDigest` of the request that used the token (0: unknown, from an old snapshot).
        var digest: UInt32 = 0
    }

    /// How long a client token is remembered, by leader time: a client retrying after this long may apply twice.
    package static let tokenRetentionMilliseconds: Int64 = 60 * 60 * 1000
    /// At most this many tokens are remembered; the oldest go first.
    package static let maxTokens = 200_000

    /// Parameters by name.
    package internal(set) var parameters: [String: Parameter] = [:]
    /// The orchestrator's domain: clusters, task definitions, …
    package internal(set) var domain = Domain()
    /// Peer addresses of controllers by node id, as recorded through the log.
    package internal(set) var memberAddresses: [UInt64: String] = [:]
    /// The index of the last applied entry (commands and other entries alike).
    package internal(set) var appliedIndex: UInt64 = 0
    /// Remembered tokens, oldest first. Invariant: `tokenIndex[t]` is the position of `t` in `tokens` plus
    /// `tokenBase`, for every token held.
    var tokens: [TokenRecord] = []
    var tokenHead = 0
    var tokenIndex: [String: Int] = [:]
    var tokenBase = 0

    /// An empty state.
    package init() {}

    /// Records that a non-command entry (empty or configuration) at `index` was applied.
    package mutating func skip(to index: UInt64) {
        precondition(index > appliedIndex, "entry \(index) applied out of order after \(appliedIndex)")
        appliedIndex = index
    }

    /// Applies the command bytes of the entry at `index`. Bytes that do not decode are rejected deterministically
    /// (every node sees the same bytes), so a bad entry cannot split the cluster.
    package mutating func apply(commandBytes: [UInt8], at index: UInt64) -> CommandResult {
        do {
            let command = try Command.decode(commandBytes)
            return apply(command, at: index)
        } catch {
            skip(to: index)
            return .rejected(field: "command", reason: "undecodable command: \(error)")
        }
    }

    /// Applies `command` as the entry at `index`.
    package mutating func apply(_ command: Command, at index: UInt64) -> CommandResult {
        skip(to: index)
        expireTokens(now: command.time)
        let digest = command.action.idempotencyDigest
        if let token = command.clientToken, let position = tokenIndex[token] {
            let record = tokens[position - tokenBase]
            // A token names one request: reusing it for a different one is refused rather than answered with the
            // first request's result (AWS: IdempotentParameterMismatch).
            guard record.digest == 0 || record.digest == digest else {
                return .rejected(
                    field: "X-Gantry-Client-Token",
                    reason: "was already used for a different request; use a new token for a new request"
                )
            }
            return record.result
        }
        let result = perform(command, at: index)
        if let token = command.clientToken {
            remember(TokenRecord(token: token, time: command.time, result: result, digest: digest))
        }
        return result
    }

    mutating func perform(_ command: Command, at index: UInt64) -> CommandResult {
        switch command.action {
        case .putParameter(let write):
            if let problem = ParameterRules.nameProblem(write.name) { return .rejected(field: "name", reason: problem) }
            if let problem = ParameterRules.valueProblem(write.value) {
                return .rejected(field: "value", reason: problem)
            }
            let existing = parameters[write.name]
            let current = existing?.version ?? 0
            if let expected = write.expectedVersion, expected != current {
                return .versionConflict(name: write.name, expected: expected, actual: current)
            }
            parameters[write.name] = Parameter(
                name: write.name,
                value: write.value,
                secret: write.secret,
                version: current + 1,
                created: existing?.created ?? command.time,
                modified: command.time,
                modifiedIndex: index
            )
            return .parameterWritten(name: write.name, version: current + 1)
        case .deleteParameter(let name, let expected):
            guard let existing = parameters[name] else {
                if let expected, expected != 0 {
                    return .versionConflict(name: name, expected: expected, actual: 0)
                }
                return .parameterNotFound(name: name)
            }
            if let expected, expected != existing.version {
                return .versionConflict(name: name, expected: expected, actual: existing.version)
            }
            parameters[name] = nil
            return .parameterDeleted(name: name, version: existing.version)
        case .setMemberAddress(let id, let address):
            guard id != 0 else { return .rejected(field: "id", reason: "node id 0 is reserved") }
            if let problem = ParameterRules.addressProblem(address) {
                return .rejected(field: "address", reason: problem)
            }
            memberAddresses[id] = address
            return .memberAddressUpdated(id: id)
        case .removeMemberAddress(let id):
            memberAddresses[id] = nil
            return .memberAddressUpdated(id: id)
        case .domain(let envelope):
            let context = Domain.Context(time: command.time, arnPrefix: envelope.arnPrefix, index: index)
            return .domain(domain.apply(envelope.command, context: context))
        }
    }

    // MARK: Queries

    /// Parameters whose names start with `prefix`, sorted by name.
    package func parameters(withPrefix prefix: String) -> [Parameter] {
        parameters.values.filter { $0.name.hasPrefix(prefix) }.sorted { $0.name < $1.name }
    }

    /// The number of client tokens remembered.
    package var rememberedTokenCount: Int { tokenIndex.count }

    // MARK: Tokens

    mutating func remember(_ record: TokenRecord) {
        tokenIndex[record.token] = tokens.count + tokenBase
        tokens.append(record)
        while tokenIndex.count > Self.maxTokens { dropOldestToken() }
    }

    mutating func expireTokens(now: Int64) {
        while tokenHead < tokens.count, now - tokens[tokenHead].time > Self.tokenRetentionMilliseconds {
            dropOldestToken()
        }
    }

    mutating func dropOldestToken() {
        let record = tokens[tokenHead]
        if tokenIndex[record.token] == tokenHead + tokenBase { tokenIndex[record.token] = nil }
        tokenHead += 1
        // Compact the array once half of it is dead, keeping the amortized cost O(1).
        if tokenHead > 1024 && tokenHead * 2 > tokens.count {
            tokens.removeFirst(tokenHead)
            tokenBase += tokenHead
            tokenHead = 0
        }
    }
}
