import AWSAuth
import HTTP
import Testing

/// A request botocore signed (see make-vectors.py and SigV4Vectors.swift) and what botocore computed for it.
struct SigV4Vector: Sendable, CustomTestStringConvertible {
    var name: String
    var method: String
    var target: String
    /// The header lines as an HTTP client sends them, `Authorization` and `X-Amz-Date` included.
    var headers: [(String, String)]
    var body: String
    var accessKeyID: String
    var secret: String
    var sessionToken: String?
    var canonicalRequest: String
    var stringToSign: String
    var authorization: String

    var testDescription: String { name }

    /// The request as the server receives it.
    var request: HTTPRequest {
        HTTPRequest(
            method: method,
            target: target,
            headers: headers.map { HTTPHeader(name: $0.0, value: $0.1) },
            body: Array(body.utf8)
        )
    }

    /// The key that signed it.
    var key: AccessKey { AccessKey(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: sessionToken) }

    /// The request as bytes on the wire.
    var wire: [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8) + Array(body.utf8)
    }

    /// The signed header names from the Authorization header.
    var signedHeaders: [String] {
        get throws { try SigV4.Authorization.parse(authorization).signedHeaders }
    }
}

/// `request` verified against `keys` at `now` (the vectors' time unless given) for the vectors' region.
func verify(
    _ request: HTTPRequest,
    _ keys: [AccessKey],
    now: Int64 = vectorTime,
    region: String? = vectorRegion
) -> Result<SigV4.Verified, SigV4Error> {
    SigV4.verify(request: request, keys: keys, now: now, region: region)
}

/// The error `result` failed with, or nil when it succeeded.
func failure(_ result: Result<SigV4.Verified, SigV4Error>) -> SigV4Error? {
    if case .failure(let error) = result { return error }
    return nil
}

extension HTTPRequest {
    /// The request with every header named `name` (any case) removed, and `value` appended under that name when
    /// not nil.
    func setting(_ name: String, _ value: String?) -> HTTPRequest {
        var copy = self
        copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        if let value { copy.headers.append(HTTPHeader(name: name, value: value)) }
        return copy
    }
}

@Suite("SigV4: botocore's signatures")
struct SigV4VectorTests {
    @Test("the canonical request and string to sign are botocore's", arguments: botocoreVectors)
    func canonicalForms(vector: SigV4Vector) throws {
        let request = vector.request
        let payloadHash = LibCrypto.hex(LibCrypto.sha256(request.body))
        let canonical = SigV4.canonicalRequest(
            request,
            signedHeaders: try vector.signedHeaders,
            payloadHash: payloadHash
        )
        #expect(canonical == vector.canonicalRequest)
        let scope = try SigV4.Authorization.parse(vector.authorization).scope
        let toSign = SigV4.stringToSign(
            canonicalRequestHash: LibCrypto.hex(LibCrypto.sha256(Array(canonical.utf8))),
            amzDate: SigV4.amzDate(unixTime: vectorTime),
            scope: scope
        )
        #expect(toSign == vector.stringToSign)
    }

    @Test("each botocore-signed request verifies", arguments: botocoreVectors)
    func verifies(vector: SigV4Vector) throws {
        let verified = try verify(vector.request, [vector.key]).get()
        #expect(
            verified
                == SigV4.Verified(
                    accessKeyID: vector.accessKeyID,
                    region: vectorRegion,
                    service: "ecs",
                    signedAt: vectorTime
                )
        )
        // Any region is accepted when the endpoint names none.
        #expect(failure(verify(vector.request, [vector.key], region: nil)) == nil)
    }

    @Test("each request verifies after the HTTP parser reads it, whole and byte by byte", arguments: botocoreVectors)
    func verifiesAfterParsing(vector: SigV4Vector) throws {
        var whole = HTTPParser()
        let parsed = try whole.feed(vector.wire)
        #expect(parsed.count == 1)
        var bytewise = HTTPParser()
        var pieces: [HTTPRequest] = []
        for byte in vector.wire { pieces += try bytewise.feed([byte]) }
        #expect(pieces == parsed)
        let request = try #require(parsed.first)
        #expect(failure(verify(request, [vector.key])) == nil)
    }

    @Test("SigV4.sign reproduces botocore's Authorization header", arguments: botocoreVectors)
    func signMatchesBotocore(vector: SigV4Vector) {
        let unsigned = vector.request.setting("Authorization", nil).setting("X-Amz-Date", nil)
        let signed = SigV4.sign(unsigned, key: vector.key, now: vectorTime, region: vectorRegion)
        #expect(signed.header("Authorization") == vector.authorization)
        #expect(signed.header("X-Amz-Date") == "20261125T191500Z")
        #expect(signed.header("X-Amz-Security-Token") == vector.sessionToken)
    }

    @Test("a changed body byte fails the signature", arguments: botocoreVectors)
    func tamperedBody(vector: SigV4Vector) {
        var request = vector.request
        if request.body.isEmpty {
            request.body = [0x20]
        } else {
            request.body[request.body.count / 2] ^= 0x01
        }
        guard case .signatureMismatch(let debug) = failure(verify(request, [vector.key])) else {
            Issue.record("a tampered body was not refused as a signature mismatch")
            return
        }
        #expect(
            debug.stringToSign.hasPrefix("AWS4-HMAC-SHA256\n20261125T191500Z\n20261125/us-east-1/ecs/aws4_request\n")
        )
        #expect(debug.stringToSign != vector.stringToSign)
        #expect(debug.stringToSign.hasSuffix(debug.canonicalRequestHash))
    }

    @Test("a changed signed header value fails the signature; an unsigned one does not", arguments: botocoreVectors)
    func tamperedHeader(vector: SigV4Vector) {
        let target = vector.request.header("X-Amz-Target") ?? ""
        let changed = vector.request.setting("X-Amz-Target", target.replacingLast("s", with: "S"))
        #expect(failure(verify(changed, [vector.key]))?.awsErrorType == "InvalidSignatureException")
        if case .signatureMismatch = failure(verify(changed, [vector.key])) {
        } else {
            Issue.record("a changed X-Amz-Target was not a signature mismatch")
        }
        let otherHost = vector.request.setting("Host", "127.0.0.1:8002")
        #expect(isSignatureMismatch(verify(otherHost, [vector.key])))
        let otherAgent = vector.request.setting("User-Agent", "curl/8.0")
        #expect(failure(verify(otherAgent, [vector.key])) == nil)
        let extraHeader = vector.request.setting("X-Forwarded-For", "10.0.0.1")
        #expect(failure(verify(extraHeader, [vector.key])) == nil)
    }

    @Test(
        "a changed date fails: one second is a signature mismatch, another day a scope mismatch",
        arguments: botocoreVectors
    )
    func tamperedDate(vector: SigV4Vector) {
        let oneSecond = vector.request.setting("X-Amz-Date", "20261125T191501Z")
        #expect(isSignatureMismatch(verify(oneSecond, [vector.key])))
        let nextDay = vector.request.setting("X-Amz-Date", "20261126T000500Z")
        #expect(
            failure(verify(nextDay, [vector.key], now: vectorTime + 5 * 3_600))
                == .scopeDateMismatch(scopeDate: "20261125", amzDate: "20261126T000500Z")
        )
    }

    @Test("another secret fails the signature; another key id is unknown", arguments: botocoreVectors)
    func wrongKey(vector: SigV4Vector) {
        let otherSecret = AccessKey(
            accessKeyID: vector.accessKeyID,
            secretAccessKey: vector.secret.replacingLast("0", with: "1"),
            sessionToken: vector.sessionToken
        )
        #expect(isSignatureMismatch(verify(vector.request, [otherSecret])))
        let otherID = AccessKey(accessKeyID: "AKIAGANTRYOTHER999", secretAccessKey: vector.secret)
        #expect(
            failure(verify(vector.request, [otherID])) == .unknownAccessKey(accessKeyID: vector.accessKeyID)
        )
        #expect(failure(verify(vector.request, [])) == .unknownAccessKey(accessKeyID: vector.accessKeyID))
    }

    @Test("a changed signature digit fails the signature", arguments: botocoreVectors)
    func tamperedSignature(vector: SigV4Vector) {
        let last = vector.authorization.last == "0" ? "1" : "0"
        let changed = String(vector.authorization.dropLast()) + last
        #expect(isSignatureMismatch(verify(vector.request.setting("Authorization", changed), [vector.key])))
    }

    @Test(
        "14 or 15 minutes of skew either way pass; 16 fail, as expired or not yet current",
        arguments: botocoreVectors
    )
    func skew(vector: SigV4Vector) {
        for minutes: Int64 in [14, 15] {
            #expect(failure(verify(vector.request, [vector.key], now: vectorTime + minutes * 60)) == nil)
            #expect(failure(verify(vector.request, [vector.key], now: vectorTime - minutes * 60)) == nil)
        }
        let late = vectorTime + 16 * 60
        #expect(
            failure(verify(vector.request, [vector.key], now: late))
                == .signatureExpired(signedAt: vectorTime, now: late)
        )
        let early = vectorTime - 16 * 60
        #expect(
            failure(verify(vector.request, [vector.key], now: early))
                == .signatureNotYetCurrent(signedAt: vectorTime, now: early)
        )
        #expect(failure(verify(vector.request, [vector.key], now: vectorTime + 15 * 60 + 1)) != nil)
    }

    @Test("the region and service of the scope must be the endpoint's", arguments: botocoreVectors)
    func scope(vector: SigV4Vector) {
        #expect(
            failure(verify(vector.request, [vector.key], region: "eu-west-1"))
                == .wrongRegion(scoped: "us-east-1", expected: "eu-west-1")
        )
        #expect(
            failure(
                SigV4.verify(request: vector.request, keys: [vector.key], now: vectorTime, region: nil, service: "s3")
            )
                == .wrongService(scoped: "ecs", expected: "s3")
        )
    }

    /// Whether `result` failed as a signature mismatch.
    func isSignatureMismatch(_ result: Result<SigV4.Verified, SigV4Error>) -> Bool {
        if case .signatureMismatch = failure(result) { return true }
        return false
    }
}

extension String {
    /// The string with its last `old` replaced by `new` (unchanged when there is none).
    func replacingLast(_ old: Character, with new: Character) -> String {
        guard let position = lastIndex(of: old) else { return self }
        var copy = self
        copy.replaceSubrange(position...position, with: String(new))
        return copy
    }
}
