package import Wire

extension StateMachine: Equatable {
    /// Two states are equal when their snapshots are: same applied index, parameters, addresses and live tokens.
    package static func == (lhs: StateMachine, rhs: StateMachine) -> Bool {
        lhs.snapshot() == rhs.snapshot()
    }
}

extension StateMachine {
    /// The first byte of every state snapshot; bump when the layout changes.
    static let snapshotFormat: UInt8 = 3

    /// The whole state as bytes, canonical (sorted), so equal states give equal snapshots.
    package func snapshot() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeUInt8(Self.snapshotFormat)
        writer.writeVarUInt(appliedIndex)
        writer.writeVarUInt(UInt64(parameters.count))
        for name in parameters.keys.sorted() {
            let parameter = parameters[name]!
            writer.writeString(parameter.name)
            writer.writeString(parameter.value)
            writer.writeBool(parameter.secret)
            writer.writeVarUInt(parameter.version)
            writer.writeUInt64(UInt64(bitPattern: parameter.created))
            writer.writeUInt64(UInt64(bitPattern: parameter.modified))
            writer.writeVarUInt(parameter.modifiedIndex)
        }
        writer.writeVarUInt(UInt64(memberAddresses.count))
        for id in memberAddresses.keys.sorted() {
            writer.writeVarUInt(id)
            writer.writeString(memberAddresses[id]!)
        }
        let live = tokens[tokenHead...].filter { tokenIndex[$0.token] != nil }
        writer.writeVarUInt(UInt64(live.count))
        for record in live {
            writer.writeString(record.token)
            writer.writeUInt64(UInt64(bitPattern: record.time))
            record.result.encode(into: &writer)
            writer.writeUInt32(record.digest)
        }
        writer.writeBytes(CanonicalJSON.encode(domain))
        return writer.bytes
    }

    /// Rebuilds a state from `snapshot()`'s bytes.
    package static func restore(_ bytes: [UInt8]) throws(WireError) -> StateMachine {
        var reader = ByteReader(bytes[...])
        let format = try reader.readUInt8(field: "snapshot.format")
        guard (1...snapshotFormat).contains(format) else {
            throw .invalid("state snapshot format \(format) is not supported (expected \(snapshotFormat))")
        }
        var state = StateMachine()
        state.appliedIndex = try reader.readVarUInt(field: "snapshot.appliedIndex")
        let parameterCount = try reader.readCount(limit: 10_000_000, field: "snapshot.parameters")
        for _ in 0..<parameterCount {
            let name = try reader.readString(limit: ParameterRules.maxNameBytes, field: "parameter.name")
            let value = try reader.readString(limit: ParameterRules.maxValueBytes, field: "parameter.value")
            let secret = try reader.readBool(field: "parameter.secret")
            let version = try reader.readVarUInt(field: "parameter.version")
            let created = Int64(bitPattern: try reader.readUInt64(field: "parameter.created"))
            let modified = Int64(bitPattern: try reader.readUInt64(field: "parameter.modified"))
            let modifiedIndex = try reader.readVarUInt(field: "parameter.modifiedIndex")
            state.parameters[name] = Parameter(
                name: name,
                value: value,
                secret: secret,
                version: version,
                created: created,
                modified: modified,
                modifiedIndex: modifiedIndex
            )
        }
        let addressCount = try reader.readCount(limit: 10_000, field: "snapshot.memberAddresses")
        for _ in 0..<addressCount {
            let id = try reader.readVarUInt(field: "member.id")
            state.memberAddresses[id] = try reader.readString(limit: 256, field: "member.address")
        }
        let tokenCount = try reader.readCount(limit: maxTokens, field: "snapshot.tokens")
        for _ in 0..<tokenCount {
            let token = try reader.readString(limit: Command.maxTokenBytes, field: "token.value")
            let time = Int64(bitPattern: try reader.readUInt64(field: "token.time"))
            let result = try CommandResult(from: &reader)
            let digest = format >= 3 ? try reader.readUInt32(field: "token.digest") : 0
            state.remember(TokenRecord(token: token, time: time, result: result, digest: digest))
        }
        if format >= 2 {
            let domainBytes = try reader.readBytes(limit: 1 << 30, field: "snapshot.domain")
            state.domain = try CanonicalJSON.decode(Domain.self, from: domainBytes)
        }
        try reader.requireAtEnd()
        return state
    }
}
