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

/// The API tokens of a controller, loaded from the tokens file:
/// `{"tokens": [{"name": "ci", "role": "operator", "token": "<at least 16 characters>"}]}`.
package struct TokenTable: Sendable {
    /// One token.
    package struct Entry: Sendable, Equatable {
        /// Who holds it (for logs and metrics; never the secret).
        package var name: String
        /// What it may do.
        package var role: Role
        /// The secret, as bytes.
        var secret: [UInt8]
    }

    /// The shortest token accepted.
    package static let minimumTokenLength = 16

    /// Every token.
    package let entries: [Entry]

    /// Parses the tokens file. Throws a one-line error naming the entry and the rule it breaks.
    package init(json bytes: [UInt8]) throws(ConfigurationError) {
        struct File: Decodable {
            struct Token: Decodable {
                var name: String?
                var role: String?
                var token: String?
            }
            var tokens: [Token]?
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw ConfigurationError(
                "tokens file is not valid JSON of the form {\"tokens\":[{\"name\",\"role\",\"token\"}]}"
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
    }

    /// A table holding `entries` as (name, role, token) triples.
    package init(_ tokens: [(name: String, role: Role, token: String)]) {
        entries = tokens.map { Entry(name: $0.name, role: $0.role, secret: Array($0.token.utf8)) }
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
