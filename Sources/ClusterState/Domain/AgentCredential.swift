/// The credential an agent receives when it registers: `gagent.<instance id>.<64 hex digits>`. The leader draws
/// the 32 random bytes (the shell's randomness) and puts the credential into the registration command, so apply
/// stays deterministic and every controller holds the same credential.
///
/// The instance id inside lets the API tell at once which instance a request claims to act for; the random part is
/// what proves it.
package enum AgentCredential {
    /// What every agent credential starts with, so it is recognizable in a header or a leaked log line.
    package static let prefix = "gagent."
    /// The random bytes in a credential.
    package static let secretBytes = 32

    /// The credential of `instanceID` with `secret` (exactly `secretBytes` bytes) as its random part.
    package static func make(instanceID: String, secret: [UInt8]) -> String {
        precondition(secret.count == secretBytes, "an agent credential needs \(secretBytes) random bytes")
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(secret.count * 2)
        for byte in secret {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return prefix + instanceID + "." + String(decoding: hex, as: UTF8.self)
    }

    /// The instance id inside `credential`, or nil unless it has the exact shape `gagent.<32 hex>.<64 hex>`.
    package static func instanceID(of credential: String) -> String? {
        guard credential.hasPrefix(prefix) else { return nil }
        let parts = credential.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 32, parts[1].utf8.count == secretBytes * 2,
            parts[0].utf8.allSatisfy(isLowerHex), parts[1].utf8.allSatisfy(isLowerHex)
        else { return nil }
        return String(parts[0])
    }

    /// Whether `credential` is well formed and names `instanceID`.
    package static func isWellFormed(_ credential: String, for instanceID: String) -> Bool {
        self.instanceID(of: credential) == instanceID
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// The rules of an agent's address (`agentAddress` at registration): where controllers reach the agent's own API
/// (task logs). The controllers' HTTP client connects to IPv4 literals and `localhost` only, so nothing else is
/// accepted.
package enum AgentAddressRules {
    /// Why `address` cannot be an agent address, or nil.
    package static func problem(_ address: String) -> String? {
        let rule =
            "must be host:port with an IPv4 address or localhost as the host and a port from 1 to 65535, "
            + "e.g. 10.0.0.5:7070"
        guard let colon = address.lastIndex(of: ":") else { return rule }
        let host = String(address[..<colon])
        let port = address[address.index(after: colon)...]
        guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ (48...57).contains($0) }),
            let number = Int(port), (1...65535).contains(number)
        else { return rule }
        guard host == "localhost" || isIPv4Literal(host) else { return rule }
        if host == "0.0.0.0" {
            return "must name an address controllers can reach; 0.0.0.0 is a listen-on-all address, give this host's IP"
        }
        return nil
    }

    /// Whether `host` is a dotted quad of decimal numbers 0-255 without leading zeros.
    static func isIPv4Literal(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ (48...57).contains($0) }),
                let value = Int(part), value <= 255
            else { return false }
            return part.utf8.count == 1 || part.utf8.first != UInt8(ascii: "0")
        }
    }
}
