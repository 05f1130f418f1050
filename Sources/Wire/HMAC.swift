/// HMAC (RFC 2104) over SHA-256: proves knowledge of a shared secret without sending it.
package enum HMAC {
    /// Returns HMAC-SHA256(`key`, `message`), 32 bytes. Keys longer than a SHA-256 block are hashed first, as
    /// RFC 2104 §2 requires.
    package static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > SHA256.blockByteCount ? SHA256.hash(key) : key
        block.append(contentsOf: repeatElement(0, count: SHA256.blockByteCount - block.count))
        var inner = block.map { $0 ^ 0x36 }
        inner.append(contentsOf: message)
        var outer = block.map { $0 ^ 0x5C }
        outer.append(contentsOf: SHA256.hash(inner))
        return SHA256.hash(outer)
    }

    /// Whether `a` and `b` are equal, taking the same time wherever they differ, so that comparing a received MAC
    /// against the expected one leaks nothing about how many leading bytes an attacker guessed. Lengths are not
    /// secret: different lengths return false at once.
    package static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }
}
