package import Wire

/// A state-machine command: what a client asked for, stamped by the leader with the time and carried in one Raft
/// log entry. Apply reads nothing but the command and the state, so every node computes the same result.
package struct Command: Sendable, Equatable {
    /// A client's idempotency token: a retried command with the same token is answered with the first result and not
    /// applied again. At most `Command.maxTokenBytes` bytes; nil when the client sent none.
    package var clientToken: String?
    /// Milliseconds since the Unix epoch, read from the leader's clock when it proposed the command.
    package var time: Int64
    /// What to do.
    package var action: Action

    /// The longest client token accepted.
    package static let maxTokenBytes = 128

    /// Creates a command.
    package init(clientToken: String? = nil, time: Int64, action: Action) {
        self.clientToken = clientToken
        self.time = time
        self.action = action
    }

    /// The things a command can do.
    package enum Action: Sendable, Equatable {
        /// Creates or replaces a parameter.
        case putParameter(ParameterWrite)
        /// Deletes a parameter; with `expectedVersion`, only if it is at that version.
        case deleteParameter(name: String, expectedVersion: UInt64?)
        /// Records the peer address of a controller about to join (or rejoin) the cluster.
        case setMemberAddress(id: UInt64, address: String)
        /// Forgets the peer address of a controller that left the cluster.
        case removeMemberAddress(id: UInt64)
        /// A write to the orchestrator's domain (clusters, task definitions, …).
        case domain(DomainEnvelope)
    }
}

/// The arguments of a parameter write.
package struct ParameterWrite: Sendable, Equatable {
    /// The parameter's name (see `ParameterRules`).
    package var name: String
    /// The value, at most `ParameterRules.maxValueBytes` bytes of UTF-8.
    package var value: String
    /// Whether list calls must never return the value.
    package var secret: Bool
    /// Compare-and-set: 0 means "only if absent", N means "only if at version N", nil means unconditional.
    package var expectedVersion: UInt64?

    /// Creates a write.
    package init(name: String, value: String, secret: Bool = false, expectedVersion: UInt64? = nil) {
        self.name = name
        self.value = value
        self.secret = secret
        self.expectedVersion = expectedVersion
    }
}

/// What applying a command produced; the leader hands it to the waiting client.
package enum CommandResult: Sendable, Equatable {
    /// The parameter now stands at this version.
    case parameterWritten(name: String, version: UInt64)
    /// The parameter was deleted; it had this version.
    case parameterDeleted(name: String, version: UInt64)
    /// Compare-and-set failed: the caller expected `expected`, the parameter is at `actual` (0: absent).
    case versionConflict(name: String, expected: UInt64, actual: UInt64)
    /// The named parameter does not exist.
    case parameterNotFound(name: String)
    /// A member address was recorded or forgotten.
    case memberAddressUpdated(id: UInt64)
    /// The command breaks a rule; nothing changed. `field` names the offending field.
    case rejected(field: String, reason: String)
    /// A domain command's result.
    case domain(DomainResult)
}

/// One-byte tags of `Command.Action`. Never renumber: these bytes are in logs and snapshots.
private enum ActionTag: UInt8 {
    case putParameter = 1
    case deleteParameter = 2
    case setMemberAddress = 3
    case removeMemberAddress = 4
    case domain = 5
}

/// One-byte tags of `CommandResult`.
private enum ResultTag: UInt8 {
    case parameterWritten = 1
    case parameterDeleted = 2
    case versionConflict = 3
    case parameterNotFound = 4
    case memberAddressUpdated = 5
    case rejected = 6
    case domain = 7
}

extension ByteWriter {
    /// Writes a length-prefixed UTF-8 string.
    package mutating func writeString(_ value: String) {
        writeBytes(Array(value.utf8))
    }

    /// Writes a presence flag, then the varint if present.
    mutating func writeOptionalVarUInt(_ value: UInt64?) {
        writeBool(value != nil)
        if let value { writeVarUInt(value) }
    }
}

extension ByteReader {
    /// Reads a length-prefixed string that must be valid UTF-8.
    package mutating func readString(limit: Int, field: String) throws(WireError) -> String {
        let bytes = try readBytes(limit: limit, field: field)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw .invalid("\(field) is not valid UTF-8")
        }
        return string
    }

    /// Reads what `writeOptionalVarUInt` writes.
    mutating func readOptionalVarUInt(field: String) throws(WireError) -> UInt64? {
        try readBool(field: field + ".present") ? try readVarUInt(field: field) : nil
    }
}

extension Command: WireCodable {
    /// Token (optional string), time (zigzag-free: stored as the bit pattern), then the tagged action.
    package func encode(into writer: inout ByteWriter) {
        writer.writeBool(clientToken != nil)
        if let clientToken { writer.writeString(clientToken) }
        writer.writeUInt64(UInt64(bitPattern: time))
        switch action {
        case .putParameter(let write):
            writer.writeUInt8(ActionTag.putParameter.rawValue)
            writer.writeString(write.name)
            writer.writeString(write.value)
            writer.writeBool(write.secret)
            writer.writeOptionalVarUInt(write.expectedVersion)
        case .deleteParameter(let name, let expectedVersion):
            writer.writeUInt8(ActionTag.deleteParameter.rawValue)
            writer.writeString(name)
            writer.writeOptionalVarUInt(expectedVersion)
        case .setMemberAddress(let id, let address):
            writer.writeUInt8(ActionTag.setMemberAddress.rawValue)
            writer.writeVarUInt(id)
            writer.writeString(address)
        case .removeMemberAddress(let id):
            writer.writeUInt8(ActionTag.removeMemberAddress.rawValue)
            writer.writeVarUInt(id)
        case .domain(let envelope):
            writer.writeUInt8(ActionTag.domain.rawValue)
            writer.writeBytes(CanonicalJSON.encode(envelope))
        }
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let token: String? =
            try reader.readBool(field: "Command.token.present")
            ? try reader.readString(limit: Command.maxTokenBytes, field: "Command.token") : nil
        let time = Int64(bitPattern: try reader.readUInt64(field: "Command.time"))
        let raw = try reader.readUInt8(field: "Command.action")
        guard let tag = ActionTag(rawValue: raw) else { throw .invalidTag(raw, type: "Command.Action") }
        let action: Action
        switch tag {
        case .putParameter:
            let name = try reader.readString(limit: ParameterRules.maxNameBytes, field: "putParameter.name")
            let value = try reader.readString(limit: ParameterRules.maxValueBytes, field: "putParameter.value")
            let secret = try reader.readBool(field: "putParameter.secret")
            let expected = try reader.readOptionalVarUInt(field: "putParameter.expectedVersion")
            action = .putParameter(ParameterWrite(name: name, value: value, secret: secret, expectedVersion: expected))
        case .deleteParameter:
            let name = try reader.readString(limit: ParameterRules.maxNameBytes, field: "deleteParameter.name")
            let expected = try reader.readOptionalVarUInt(field: "deleteParameter.expectedVersion")
            action = .deleteParameter(name: name, expectedVersion: expected)
        case .setMemberAddress:
            let id = try reader.readVarUInt(field: "setMemberAddress.id")
            let address = try reader.readString(limit: 256, field: "setMemberAddress.address")
            action = .setMemberAddress(id: id, address: address)
        case .removeMemberAddress:
            action = .removeMemberAddress(id: try reader.readVarUInt(field: "removeMemberAddress.id"))
        case .domain:
            let bytes = try reader.readBytes(limit: 16 << 20, field: "domain.command")
            action = .domain(try CanonicalJSON.decode(DomainEnvelope.self, from: bytes))
        }
        self.init(clientToken: token, time: time, action: action)
    }
}

extension CommandResult: WireCodable {
    /// A tag, then the case's fields.
    package func encode(into writer: inout ByteWriter) {
        switch self {
        case .parameterWritten(let name, let version):
            writer.writeUInt8(ResultTag.parameterWritten.rawValue)
            writer.writeString(name)
            writer.writeVarUInt(version)
        case .parameterDeleted(let name, let version):
            writer.writeUInt8(ResultTag.parameterDeleted.rawValue)
            writer.writeString(name)
            writer.writeVarUInt(version)
        case .versionConflict(let name, let expected, let actual):
            writer.writeUInt8(ResultTag.versionConflict.rawValue)
            writer.writeString(name)
            writer.writeVarUInt(expected)
            writer.writeVarUInt(actual)
        case .parameterNotFound(let name):
            writer.writeUInt8(ResultTag.parameterNotFound.rawValue)
            writer.writeString(name)
        case .memberAddressUpdated(let id):
            writer.writeUInt8(ResultTag.memberAddressUpdated.rawValue)
            writer.writeVarUInt(id)
        case .rejected(let field, let reason):
            writer.writeUInt8(ResultTag.rejected.rawValue)
            writer.writeString(field)
            writer.writeString(reason)
        case .domain(let result):
            writer.writeUInt8(ResultTag.domain.rawValue)
            writer.writeBytes(CanonicalJSON.encode(result))
        }
    }

    /// Reads what `encode(into:)` writes.
    package init(from reader: inout ByteReader) throws(WireError) {
        let raw = try reader.readUInt8(field: "CommandResult.tag")
        guard let tag = ResultTag(rawValue: raw) else { throw .invalidTag(raw, type: "CommandResult") }
        let limit = 4096
        switch tag {
        case .parameterWritten:
            let name = try reader.readString(limit: limit, field: "parameterWritten.name")
            self = .parameterWritten(name: name, version: try reader.readVarUInt(field: "parameterWritten.version"))
        case .parameterDeleted:
            let name = try reader.readString(limit: limit, field: "parameterDeleted.name")
            self = .parameterDeleted(name: name, version: try reader.readVarUInt(field: "parameterDeleted.version"))
        case .versionConflict:
            let name = try reader.readString(limit: limit, field: "versionConflict.name")
            let expected = try reader.readVarUInt(field: "versionConflict.expected")
            self = .versionConflict(
                name: name,
                expected: expected,
                actual: try reader.readVarUInt(field: "versionConflict.actual")
            )
        case .parameterNotFound:
            self = .parameterNotFound(name: try reader.readString(limit: limit, field: "parameterNotFound.name"))
        case .memberAddressUpdated:
            self = .memberAddressUpdated(id: try reader.readVarUInt(field: "memberAddressUpdated.id"))
        case .rejected:
            let field = try reader.readString(limit: limit, field: "rejected.field")
            self = .rejected(field: field, reason: try reader.readString(limit: limit, field: "rejected.reason"))
        case .domain:
            let bytes = try reader.readBytes(limit: 16 << 20, field: "domain.result")
            self = .domain(try CanonicalJSON.decode(DomainResult.self, from: bytes))
        }
    }
}

extension Command.Action {
    /// A checksum of what the action asks for, to tell a retry (same request, same token) from a token reused for a
    /// different request. Ids the leader assigns are left out: a retry is stamped with new ones.
    package var idempotencyDigest: UInt32 {
        var action = self
        if case .domain(var envelope) = self {
            envelope.command = envelope.command.withoutLeaderIDs
            action = .domain(envelope)
        }
        return CRC32C.checksum(Command(time: 0, action: action).encoded())
    }
}
