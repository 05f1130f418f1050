import AWSAuth
import HTTP
import Testing

/// The URI and query lines of the canonical request for `target`.
private func uriAndQuery(_ target: String) -> String {
    let request = HTTPRequest(method: "GET", target: target, headers: [HTTPHeader(name: "Host", value: "h")])
    let lines = SigV4.canonicalRequest(request, signedHeaders: ["host"], payloadHash: "-").split(
        separator: "\n",
        omittingEmptySubsequences: false
    )
    return "\(lines[1]) \(lines[2])"
}

@Suite("SigV4: canonical forms and times")
struct SigV4CanonicalTests {
    @Test(
        "the canonical URI removes dot segments and repeated slashes and encodes the path once more",
        arguments: zip(
            ["/", "", "/a/b", "/a//b/", "/a/./b/../c", "/..", "/a%20b", "/a b", "/~a-_.", "/a%2Fb", "/é", "/a/b/.."],
            ["/", "/", "/a/b", "/a/b/", "/a/c", "/", "/a%2520b", "/a%20b", "/~a-_.", "/a%252Fb", "/%C3%A9", "/a"]
        )
    )
    func canonicalURI(path: String, expected: String) {
        #expect(uriAndQuery(path) == "\(expected) ")
    }

    @Test(
        "the canonical query string is re-encoded and sorted by name, then value",
        arguments: zip(
            ["/?", "/?b=2&a=1", "/?a=2&a=1", "/?flag", "/?x=a+b", "/?x=a%20b", "/?x=%2f%7E", "/?x=a/b:c", "/?x=%zz"],
            ["", "a=1&b=2", "a=1&a=2", "flag=", "x=a%20b", "x=a%20b", "x=%2F~", "x=a%2Fb%3Ac", "x=%zz"]
        )
    )
    func canonicalQuery(target: String, expected: String) {
        #expect(uriAndQuery(target) == "/ \(expected)")
    }

    @Test("header values are trimmed and collapsed, and repeated headers joined by commas in order")
    func headerValues() {
        let request = HTTPRequest(
            method: "POST",
            target: "/",
            headers: [
                HTTPHeader(name: "Host", value: "h"),
                HTTPHeader(name: "X-A", value: " a \t  b  "),
                HTTPHeader(name: "x-a", value: "c"),
                HTTPHeader(name: "X-B", value: ""),
            ]
        )
        #expect(
            SigV4.canonicalRequest(request, signedHeaders: ["host", "x-a", "x-b"], payloadHash: "p")
                == "POST\n/\n\nhost:h\nx-a:a b,c\nx-b:\n\nhost;x-a;x-b\np"
        )
    }

    @Test("X-Amz-Date converts to and from Unix time")
    func times() {
        let samples: [(String, Int64)] = [
            ("19700101T000000Z", 0),
            ("20261125T191500Z", 1_795_634_100),
            ("20000229T235959Z", 951_868_799),
            ("20240229T120000Z", 1_709_208_000),
            ("99991231T235959Z", 253_402_300_799),
            ("19691231T235959Z", -1),
        ]
        for (text, seconds) in samples {
            #expect(SigV4.unixTime(amzDate: text) == seconds, "\(text)")
            #expect(SigV4.amzDate(unixTime: seconds) == text, "\(seconds)")
        }
        for bad in ["20230229T000000Z", "20261301T000000Z", "20261100T000000Z", "20261125T126000Z", "20261125 191500Z"]
        {
            #expect(SigV4.unixTime(amzDate: bad) == nil, "\(bad)")
        }
    }

    @Test("the signing key is AWS's documented example")
    func signingKey() {
        // The example of AWS's "Examples of how to derive a signing key for Signature Version 4" page.
        let key = SigV4.signingKey(
            secret: Array("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".utf8),
            date: "20120215",
            region: "us-east-1",
            service: "iam"
        )
        #expect(LibCrypto.hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test("an access key id is 16 to 128 capitals and digits")
    func accessKeyIDs() {
        #expect(AccessKey.isValidID("AKIAIOSFODNN7EXAMPLE"))
        #expect(AccessKey.isValidID(String(repeating: "A", count: 16)))
        #expect(AccessKey.isValidID(String(repeating: "9", count: 128)))
        #expect(!AccessKey.isValidID(String(repeating: "A", count: 15)))
        #expect(!AccessKey.isValidID(String(repeating: "A", count: 129)))
        #expect(!AccessKey.isValidID("akiaiosfodnn7example"))
        #expect(!AccessKey.isValidID("AKIA-IOSFODNN7EXAMPLE"))
    }
}
