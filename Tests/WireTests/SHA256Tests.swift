import Testing

@testable import Wire

/// SHA-256 and HMAC-SHA256 against the published vectors of FIPS 180-4 (via NIST's examples) and RFC 4231.
@Suite("SHA-256 and HMAC")
struct SHA256Tests {
    /// Lower-case hexadecimal of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    @Test(
        "FIPS 180-4 example digests",
        arguments: zip(
            ["", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"],
            [
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ]
        )
    )
    func digests(message: String, expected: String) {
        #expect(Self.hex(SHA256.hash(Array(message.utf8))) == expected)
    }

    @Test("a million 'a' bytes hash to the FIPS 180-4 long-message digest")
    func millionA() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(
            Self.hex(SHA256.hash(message)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        )
    }

    @Test("padding boundaries: messages of 55 to 65 bytes all give distinct 32-byte digests")
    func paddingBoundaries() {
        var seen = Set<String>()
        for count in 55...65 {
            let digest = SHA256.hash([UInt8](repeating: 0x61, count: count))
            #expect(digest.count == 32)
            seen.insert(Self.hex(digest))
        }
        #expect(seen.count == 11)
    }

    @Test(
        "RFC 4231 HMAC-SHA256 test cases 1, 2, 6 and 7",
        arguments: zip(
            [
                [UInt8](repeating: 0x0B, count: 20),
                Array("Jefe".utf8),
                [UInt8](repeating: 0xAA, count: 131),
                [UInt8](repeating: 0xAA, count: 131),
            ],
            [
                ("Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
                (
                    "what do ya want for nothing?",
                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
                ),
                (
                    "Test Using Larger Than Block-Size Key - Hash Key First",
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
                ),
                (
                    "This is a test using a larger than block-size key and a larger than block-size data. The key "
                        + "needs to be hashed before being used by the HMAC algorithm.",
                    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
                ),
            ]
        )
    )
    func rfc4231(key: [UInt8], vector: (message: String, expected: String)) {
        #expect(Self.hex(HMAC.sha256(key: key, message: Array(vector.message.utf8))) == vector.expected)
    }

    @Test("constant-time comparison agrees with ==")
    func constantTimeEquals() {
        #expect(HMAC.constantTimeEquals([], []))
        #expect(HMAC.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!HMAC.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!HMAC.constantTimeEquals([0, 2, 3], [1, 2, 3]))
        #expect(!HMAC.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}
