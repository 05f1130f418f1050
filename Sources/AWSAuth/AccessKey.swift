/// An AWS-style access key: the public id a client names in its `Credential=`, the secret it signs with, and
/// optionally the session token it must present in `X-Amz-Security-Token`.
///
/// The description shows the id only: neither the secret nor the session token is ever printed.
package struct AccessKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The shortest access key id accepted.
    package static let minimumIDLength = 16
    /// The longest access key id accepted.
    package static let maximumIDLength = 128
    /// The shortest secret access key accepted.
    package static let minimumSecretLength = 16

    /// The public id, for example `AKIAIOSFODNN7EXAMPLE`.
    /// Invariant: `AccessKey.isValidID(accessKeyID)`.
    package let accessKeyID: String
    /// The secret access key, as UTF-8 bytes.
    /// Invariant: at least `minimumSecretLength` bytes.
    let secret: [UInt8]
    /// The session token a request must carry in `X-Amz-Security-Token`, as UTF-8 bytes; nil when a request must
    /// carry none. Invariant: non-empty when present.
    let sessionToken: [UInt8]?

    /// A key from its parts. The caller has checked them: `isValidID(accessKeyID)`, a secret of at least
    /// `minimumSecretLength` characters and a non-empty session token when one is given (parsers report these to
    /// the user; breaking them here is a programmer error).
    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        precondition(Self.isValidID(accessKeyID), "access key id '\(accessKeyID)' breaks AccessKey.isValidID")
        precondition(
            secretAccessKey.utf8.count >= Self.minimumSecretLength,
            "the secret of access key '\(accessKeyID)' is shorter than \(Self.minimumSecretLength) characters"
        )
        precondition(sessionToken.map { !$0.isEmpty } ?? true, "access key '\(accessKeyID)' has an empty session token")
        self.accessKeyID = accessKeyID
        self.secret = Array(secretAccessKey.utf8)
        self.sessionToken = sessionToken.map { Array($0.utf8) }
    }

    /// Whether a request signed with this key must carry a session token.
    package var expectsSessionToken: Bool { sessionToken != nil }

    /// Whether `id` is 16 to 128 characters, each an ASCII capital letter or digit (the form AWS issues).
    package static func isValidID(_ id: String) -> Bool {
        (minimumIDLength...maximumIDLength).contains(id.utf8.count)
            && id.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// The id, with the secret and session token left out.
    package var description: String {
        "AccessKey(\(accessKeyID)\(expectsSessionToken ? ", with session token" : ""))"
    }

    /// The same as `description`: the secret stays out of debug output too.
    package var debugDescription: String { description }
}
