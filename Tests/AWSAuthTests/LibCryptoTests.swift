import AWSAuth
import Testing

/// `count` copies of `byte`.
private func repeated(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }

/// One SHA-256 known answer.
struct SHA256Case: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    /// The expected digest, lowercase hex.
    var digest: String

    var testDescription: String { name }
}

/// FIPS 180-2 appendix B (one block, two blocks, a million 'a's) and the empty message.
let fips180: [SHA256Case] = [
    SHA256Case(
        name: "abc",
        input: Array("abc".utf8),
        digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    ),
    SHA256Case(
        name: "448 bits",
        input: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
        digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
    SHA256Case(
        name: "empty",
        input: [],
        digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    ),
    SHA256Case(
        name: "a million 'a's",
        input: repeated(UInt8(ascii: "a"), 1_000_000),
        digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    ),
]

/// One RFC 4231 test case.
struct HMACCase: Sendable, CustomTestStringConvertible {
    var number: Int
    var key: [UInt8]
    var data: [UInt8]
    /// The expected tag, lowercase hex (test case 5: its first 128 bits).
    var tag: String

    var testDescription: String { "RFC 4231 test case \(number)" }
}

/// RFC 4231 §4.2–4.8.
let rfc4231: [HMACCase] = [
    HMACCase(
        number: 1,
        key: repeated(0x0B, 20),
        data: Array("Hi There".utf8),
        tag: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    ),
    HMACCase(
        number: 2,
        key: Array("Jefe".utf8),
        data: Array("what do ya want for nothing?".utf8),
        tag: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    ),
    HMACCase(
        number: 3,
        key: repeated(0xAA, 20),
        data: repeated(0xDD, 50),
        tag: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
    ),
    HMACCase(
        number: 4,
        key: Array(1...25),
        data: repeated(0xCD, 50),
        tag: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
    ),
    HMACCase(
        number: 5,
        key: repeated(0x0C, 20),
        data: Array("Test With Truncation".utf8),
        tag: "a3b6167473100ee06e0c796c2955552b"
    ),
    HMACCase(
        number: 6,
        key: repeated(0xAA, 131),
        data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
        tag: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    ),
    HMACCase(
        number: 7,
        key: repeated(0xAA, 131),
        data: Array(
            ("This is a test using a larger than block-size key and a larger than block-size data. The key needs to "
                + "be hashed before being used by the HMAC algorithm.").utf8
        ),
        tag: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
    ),
]

@Suite("libcrypto: SHA-256 and HMAC-SHA256")
struct LibCryptoTests {
    @Test("SHA-256 gives the FIPS 180-2 answers", arguments: fips180)
    func sha256(testCase: SHA256Case) {
        #expect(LibCrypto.hex(LibCrypto.sha256(testCase.input)) == testCase.digest)
    }

    /// RFC 4231 §4.2–4.8; test case 5's tag is truncated to 128 bits there, so only that prefix is compared.
    @Test("HMAC-SHA256 gives the RFC 4231 answers", arguments: rfc4231)
    func hmac(testCase: HMACCase) {
        let computed = LibCrypto.hex(LibCrypto.hmacSHA256(key: testCase.key, data: testCase.data))
        #expect(computed.hasPrefix(testCase.tag))
        #expect(computed.count == 64)
    }

    @Test("HMAC-SHA256 takes an empty key and empty data")
    func emptyHMAC() {
        #expect(
            LibCrypto.hex(LibCrypto.hmacSHA256(key: [], data: []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        )
    }

    @Test("hex round-trips every byte and refuses odd lengths and non-hex digits")
    func hexRoundTrip() {
        let all = Array(UInt8.min...UInt8.max)
        #expect(LibCrypto.bytes(hex: LibCrypto.hex(all)) == all)
        #expect(LibCrypto.bytes(hex: "ABcd") == [0xAB, 0xCD])
        #expect(LibCrypto.bytes(hex: "abc") == nil)
        #expect(LibCrypto.bytes(hex: "zz") == nil)
        #expect(LibCrypto.bytes(hex: "") == [])
    }

    @Test("constant-time comparison agrees with ==")
    func constantTime() {
        let samples: [[UInt8]] = [[], [1], [1, 2], [1, 3], [2, 2, 2]]
        for a in samples {
            for b in samples {
                #expect(LibCrypto.constantTimeEquals(a, b) == (a == b))
            }
        }
    }
}
