import CCrypto

/// SHA-256, HMAC-SHA256 and constant-time comparison from the system libcrypto (OpenSSL), plus the hex helpers
/// SigV4 needs. Every function is a one-shot call with no shared state, so it is safe from any thread.
package enum LibCrypto {
    /// The length of a SHA-256 digest and of an HMAC-SHA256 tag, in bytes.
    package static let digestLength = 32

    /// The SHA-256 digest of `bytes` (FIPS 180-4).
    package static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestLength)
        var length: UInt32 = 0
        let status = withNonNullBytes(bytes) { data, count in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(data, count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        // A one-shot digest into a buffer of the right size fails only if libcrypto is broken (out of memory).
        precondition(status == 1 && length == digestLength, "libcrypto EVP_Digest(SHA-256) failed")
        return digest
    }

    /// The HMAC-SHA256 tag of `data` under `key` (RFC 2104, RFC 4231).
    package static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: digestLength)
        var length: UInt32 = 0
        precondition(key.count <= Int32.max, "HMAC key of \(key.count) bytes is longer than libcrypto accepts")
        let result = withNonNullBytes(key) { keyBytes, keyCount in
            withNonNullBytes(data) { dataBytes, dataCount in
                tag.withUnsafeMutableBufferPointer { output in
                    HMAC(
                        EVP_sha256(),
                        keyBytes,
                        Int32(keyCount),
                        dataBytes.assumingMemoryBound(to: UInt8.self),
                        dataCount,
                        output.baseAddress,
                        &length
                    ) != nil
                }
            }
        }
        precondition(result && length == digestLength, "libcrypto HMAC(SHA-256) failed")
        return tag
    }

    /// Whether `a` and `b` are equal, in time that depends only on their lengths (OpenSSL's `CRYPTO_memcmp`).
    package static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return withNonNullBytes(a) { left, count in
            withNonNullBytes(b) { right, _ in CRYPTO_memcmp(left, right, count) == 0 }
        }
    }

    /// `bytes` as lowercase hexadecimal, two digits per byte.
    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes a hexadecimal string spells (either case), or nil when it has an odd length or a non-hex character.
    package static func bytes(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var position = 0
        while position < digits.count {
            guard let high = hexValue(digits[position]), let low = hexValue(digits[position + 1]) else { return nil }
            bytes.append(high << 4 | low)
            position += 2
        }
        return bytes
    }

    /// The value of one hexadecimal digit, or nil.
    static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Calls `body` with a pointer to `bytes` and their count. The pointer is never null, even for an empty array:
    /// libcrypto treats a null key as "no key set" rather than as the empty key HMAC allows.
    static func withNonNullBytes<Result>(
        _ bytes: [UInt8],
        _ body: (UnsafeRawPointer, Int) -> Result
    ) -> Result {
        bytes.withUnsafeBytes { buffer in
            if let base = buffer.baseAddress { return body(base, buffer.count) }
            var placeholder: UInt8 = 0
            return withUnsafeBytes(of: &placeholder) { body($0.baseAddress!, 0) }
        }
    }
}
