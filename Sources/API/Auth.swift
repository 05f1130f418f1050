package import AWSAuth

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a token may do. Each role includes the ones below it: `admin` ⊃ `operator` ⊃ `readonly`. `agent` stands
/// apart: it is below every other role and includes none of them.
package enum Role: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// A join token: registers container instances and nothing else. Each registration answers with a credential
    /// of the instance's own (`AgentCredential`), which its agent uses from then on.
    case agent = 0
    /// Reads status, membership, metrics and non-secret parameter values.
    case readonly = 1
    /// Also writes and deletes parameters and reads secret values.
    case `operator` = 2
    /// Also changes membership, transfers leadership and downloads snapshots.
    case admin = 3

    /// Orders roles by power.
    package static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The role's name in the tokens file.
    package var description: String {
        switch self {
        case .agent: return "agent"
        case .readonly: return "readonly"
        case .operator: return "operator"
        case .admin: return "admin"
        }
    }

    /// The role named `name`, or nil.
    package init?(name: String) {
        guard let role = Role.allCases.first(where: { $0.description == name }) else { return nil }
        self = role
    }
}

/// The API tokens and AWS access keys of a controller, loaded from the tokens file:
///
///     {"tokens": [{"name": "ci", "role": "operator", "token": "<at least 16 characters>"}],
///      "accessKeys": [{"name": "aws-cli", "role": "operator", "accessKeyId": "<16-128 of A-Z 0-9>",
///                      "secretAccessKey": "<at least 16 characters>", "sessionToken": "<optional>"}]}
///
/// Bearer tokens authenticate the admin API; access keys authenticate requests signed with AWS Signature Version 4
/// (the ECS-compatible API), see `authenticate(sigV4:now:region:service:)`.
package struct TokenTable: Sendable {
    /// One token, or the identity of an access key that signed a request.
    package struct Entry: Sendable, Equatable {
        /// Who holds it (for logs and metrics; never the secret).
        package var name: String
        /// What it may do.
        package var role: Role
        /// The secret, as bytes; empty for an entry an access key authenticated (its secret stays in `accessKeys`).
        var secret: [UInt8]
    }

    /// One AWS access key and who holds it.
    package struct AccessKeyEntry: Sendable, Equatable {
        /// Who holds it (for logs and metrics; never the secret).
        package var name: String
        /// What it may do: readonly, operator or admin (never agent).
        package var role: Role
        /// The key: id, secret and optional session token.
        package var key: AccessKey

        /// An entry from its parts.
        package init(name: String, role: Role, key: AccessKey) {
            precondition(role != .agent, "access key '\(key.accessKeyID)' cannot have role agent")
            self.name = name
            self.role = role
            self.key = key
        }
    }

    /// The shortest token accepted.
    package static let minimumTokenLength = 16

    /// Every token.
    package let entries: [Entry]
    /// Every access key. Invariant: no two share an access key id.
    package let accessKeys: [AccessKeyEntry]

    /// Parses the tokens file. Throws a one-line error naming the entry and the rule it breaks.
    package init(json bytes: [UInt8]) throws(ConfigurationError) {
        struct File: Decodable {
            struct Token: Decodable {
                var name: String?
                var role: String?
                var token: String?
            }
            struct Key: Decodable {
                var name: String?
                var role: String?
                var accessKeyId: String?
                var secretAccessKey: String?
                var sessionToken: String?
            }
            var tokens: [Token]?
            var accessKeys: [Key]?
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw ConfigurationError(
                "tokens file is not valid JSON of the form {\"tokens\":[{\"name\",\"role\",\"token\"}], "
                    + "\"accessKeys\":[{\"name\",\"role\",\"accessKeyId\",\"secretAccessKey\"}]}"
                    + Self.decodingLocation(error)
            )
        }
        guard let tokens = file.tokens, !tokens.isEmpty else {
            throw ConfigurationError("tokens file: \"tokens\" must be a non-empty list")
        }
        var entries: [Entry] = []
        for (position, token) in tokens.enumerated() {
            let label = "tokens file: tokens[\(position)]"
            guard let name = token.name, !name.isEmpty else { throw ConfigurationError("\(label).name is missing") }
            guard let roleName = token.role, let role = Role(name: roleName) else {
                throw ConfigurationError("\(label).role must be one of admin, operator, readonly, agent")
            }
            guard let secret = token.token, secret.utf8.count >= Self.minimumTokenLength else {
                throw ConfigurationError("\(label).token must be at least \(Self.minimumTokenLength) characters")
            }
            guard !entries.contains(where: { $0.secret == Array(secret.utf8) }) else {
                throw ConfigurationError("\(label).token repeats an earlier token")
            }
            entries.append(Entry(name: name, role: role, secret: Array(secret.utf8)))
        }
        self.entries = entries

        var accessKeys: [AccessKeyEntry] = []
        for (position, key) in (file.accessKeys ?? []).enumerated() {
            let label = "tokens file: accessKeys[\(position)]"
            guard let name = key.name, !name.isEmpty else { throw ConfigurationError("\(label).name is missing") }
            guard let roleName = key.role, let role = Role(name: roleName), role != .agent else {
                throw ConfigurationError("\(label).role must be one of admin, operator, readonly")
            }
            guard let id = key.accessKeyId, AccessKey.isValidID(id) else {
                throw ConfigurationError(
                    "\(label).accessKeyId must be \(AccessKey.minimumIDLength) to \(AccessKey.maximumIDLength) "
                        + "characters, each A-Z or 0-9"
                )
            }
            guard let secret = key.secretAccessKey, secret.utf8.count >= AccessKey.minimumSecretLength else {
                throw ConfigurationError(
                    "\(label).secretAccessKey must be at least \(AccessKey.minimumSecretLength) characters"
                )
            }
            if let token = key.sessionToken, token.isEmpty {
                throw ConfigurationError("\(label).sessionToken must not be empty (leave it out for none)")
            }
            guard !accessKeys.contains(where: { $0.key.accessKeyID == id }) else {
                throw ConfigurationError("\(label).accessKeyId repeats an earlier access key")
            }
            let accessKey = AccessKey(accessKeyID: id, secretAccessKey: secret, sessionToken: key.sessionToken)
            accessKeys.append(AccessKeyEntry(name: name, role: role, key: accessKey))
        }
        self.accessKeys = accessKeys
    }

    /// A table holding `entries` as (name, role, token) triples, and `accessKeys`.
    package init(_ tokens: [(name: String, role: Role, token: String)], accessKeys: [AccessKeyEntry] = []) {
        entries = tokens.map { Entry(name: $0.name, role: $0.role, secret: Array($0.token.utf8)) }
        var seen: Set<String> = []
        for entry in accessKeys {
            precondition(seen.insert(entry.key.accessKeyID).inserted, "access key \(entry.key.accessKeyID) repeats")
        }
        self.accessKeys = accessKeys
    }

    /// Where in the file a decoding error is, as ` (at accessKeys[0].sessionToken)`; empty when it has no place.
    static func decodingLocation(_ error: any Error) -> String {
        let path: [any CodingKey]
        switch error as? DecodingError {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            path = context.codingPath
        default:
            return ""
        }
        guard !path.isEmpty else { return "" }
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return " (at \(text))"
    }

    /// The entry for an `Authorization: Bearer <token>` header value, or nil. Every stored token is compared, each
    /// in time independent of where the bytes differ, so timing reveals neither which token nor how much matched.
    package func authenticate(authorization: String?) -> Entry? {
        guard let authorization else { return nil }
        let prefix = "Bearer "
        guard authorization.hasPrefix(prefix) else { return nil }
        let presented = Array(authorization.utf8.dropFirst(prefix.utf8.count))
        var found: Entry?
        for entry in entries where constantTimeEquals(entry.secret, presented) && found == nil {
            found = entry
        }
        return found
    }
}

/// A configuration problem, as one line an operator can act on.
package struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The line.
    package var message: String

    /// Creates an error.
    package init(_ message: String) {
        self.message = message
    }

    /// The line.
    package var description: String { message }
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
package func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    let count = max(a.count, b.count)
    for position in 0..<count {
        let x = position < a.count ? a[position] : 0
        let y = position < b.count ? b[position] : 0
        difference |= x ^ y
    }
    return difference == 0
}
