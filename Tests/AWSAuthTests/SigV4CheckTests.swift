import AWSAuth
import HTTP
import Testing

/// A key without a session token, and the same id and secret expecting one.
private let plainKey = AccessKey(accessKeyID: "AKIAGANTRYCHECK001", secretAccessKey: "check-secret-0000000000000001")
private let tokenKey = AccessKey(
    accessKeyID: "AKIAGANTRYCHECK001",
    secretAccessKey: "check-secret-0000000000000001",
    sessionToken: "check-session-token-1"
)

/// An ECS ListClusters call as the aws CLI sends it, before signing.
private let listClusters = HTTPRequest(
    method: "POST",
    target: "/",
    headers: [
        HTTPHeader(name: "Host", value: "127.0.0.1:8001"),
        HTTPHeader(name: "Content-Type", value: "application/x-amz-json-1.1"),
        HTTPHeader(name: "X-Amz-Target", value: "AmazonEC2ContainerServiceV20141113.ListClusters"),
        HTTPHeader(name: "Content-Length", value: "2"),
    ],
    body: Array("{}".utf8)
)

/// `request` signed with `key` at the vectors' time.
private func signed(_ request: HTTPRequest = listClusters, with key: AccessKey = plainKey) -> HTTPRequest {
    SigV4.sign(request, key: key, now: vectorTime, region: vectorRegion)
}

/// The request's Authorization header with `old` replaced by `new`.
private func editingAuthorization(_ request: HTTPRequest, _ old: String, _ new: String) -> HTTPRequest {
    let value = request.header("Authorization") ?? ""
    return request.setting("Authorization", value.replacing(old, with: new))
}

@Suite("SigV4: each refusal")
struct SigV4CheckTests {
    @Test("a request signed by SigV4.sign verifies, and with a session token too")
    func signedVerifies() {
        #expect(failure(verify(signed(), [plainKey])) == nil)
        #expect(failure(verify(signed(with: tokenKey), [tokenKey])) == nil)
    }

    @Test("no Authorization header is MissingAuthenticationTokenException")
    func missingAuthorization() {
        let error = failure(verify(listClusters, [plainKey]))
        #expect(error == .missingAuthorization)
        #expect(error?.awsErrorType == "MissingAuthenticationTokenException")
    }

    @Test(
        "a malformed Authorization header is IncompleteSignatureException, saying what is wrong",
        arguments: [
            ("Bearer operator-token-0001", "algorithm 'Bearer' is not supported"),
            ("AWS4-HMAC-SHA256", "requires 'Credential' parameter"),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/20261125/us-east-1/ecs/aws4_request, "
                    + "SignedHeaders=host;x-amz-date",
                "requires 'Signature' parameter"
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/20261125/us-east-1/ecs, SignedHeaders=host;x-amz-date, "
                    + "Signature=\(String(repeating: "0", count: 64))",
                "Credential must have the form"
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/2026-11-25/us-east-1/ecs/aws4_request, "
                    + "SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))",
                "Credential must have the form"
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/20261125/us-east-1/ecs/aws4_request, "
                    + "SignedHeaders=host;;x-amz-date, Signature=\(String(repeating: "0", count: 64))",
                "SignedHeaders must be header names"
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/20261125/us-east-1/ecs/aws4_request, "
                    + "SignedHeaders=host;x-amz-date, Signature=xyz",
                "Signature must be 64 hexadecimal digits"
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/20261125/us-east-1/ecs/aws4_request "
                    + "SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))",
                "requires 'SignedHeaders' parameter"
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKIAGANTRYCHECK001/20261125/us-east-1/ecs/aws4_request, junk, "
                    + "SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))",
                "'junk' is not a valid key=value pair"
            ),
        ]
    )
    func malformed(value: String, expected: String) {
        let error = failure(verify(signed().setting("Authorization", value), [plainKey]))
        guard case .malformedAuthorization(let reason) = error else {
            Issue.record("\(value) gave \(String(describing: error))")
            return
        }
        #expect(reason.contains(expected), "\(reason)")
        #expect(error?.awsErrorType == "IncompleteSignatureException")
        #expect(!reason.contains("operator-token-0001"))
    }

    @Test("two Authorization or X-Amz-Date headers are refused")
    func duplicates() {
        let request = signed()
        for name in ["Authorization", "X-Amz-Date"] {
            var doubled = request
            doubled.headers.append(HTTPHeader(name: name, value: request.header(name) ?? ""))
            #expect(failure(verify(doubled, [plainKey])) == .duplicateHeader(name: name))
        }
    }

    @Test("X-Amz-Date must be present and in basic ISO 8601")
    func date() {
        #expect(failure(verify(signed().setting("X-Amz-Date", nil), [plainKey])) == .missingDate)
        for bad in ["2026-11-25T19:15:00Z", "20261125T191500", "20261131T191500Z", "20261125T241500Z", ""] {
            #expect(failure(verify(signed().setting("X-Amz-Date", bad), [plainKey])) == .malformedDate(value: bad))
        }
    }

    @Test("host and x-amz-date must be signed")
    func requiredSignedHeaders() {
        let request = signed()
        let withoutHost = editingAuthorization(request, "host;", "")
        #expect(failure(verify(withoutHost, [plainKey])) == .headerNotSigned(name: "host"))
        let withoutDate = editingAuthorization(request, ";x-amz-date", "")
        #expect(failure(verify(withoutDate, [plainKey])) == .headerNotSigned(name: "x-amz-date"))
        #expect(failure(verify(withoutDate, [plainKey]))?.awsErrorType == "IncompleteSignatureException")
    }

    @Test("a signed header the request lacks is refused")
    func signedHeaderMissing() {
        let request = signed().setting("Content-Type", nil)
        #expect(failure(verify(request, [plainKey])) == .signedHeaderMissing(name: "content-type"))
    }

    @Test("a session token must be signed, expected, and the key's")
    func sessionToken() {
        let withToken = signed(with: tokenKey)
        let unsigned = editingAuthorization(withToken, ";x-amz-security-token", "")
        #expect(failure(verify(unsigned, [tokenKey])) == .headerNotSigned(name: "x-amz-security-token"))
        #expect(
            failure(verify(withToken, [plainKey])) == .unexpectedSecurityToken(accessKeyID: plainKey.accessKeyID)
        )
        #expect(failure(verify(signed(), [tokenKey])) == .missingSecurityToken(accessKeyID: plainKey.accessKeyID))
        let otherToken = AccessKey(
            accessKeyID: "AKIAGANTRYCHECK001",
            secretAccessKey: "check-secret-0000000000000001",
            sessionToken: "check-session-token-2"
        )
        let mismatch = signed(with: otherToken)
        #expect(failure(verify(mismatch, [tokenKey])) == .securityTokenMismatch(accessKeyID: plainKey.accessKeyID))
        #expect(failure(verify(mismatch, [tokenKey]))?.awsErrorType == "UnrecognizedClientException")
    }

    @Test("X-Amz-Content-Sha256 is accepted when it is the body's hash and refused otherwise")
    func contentSha256() {
        let hash = LibCrypto.hex(LibCrypto.sha256(Array("{}".utf8)))
        let honest = signed(listClusters.setting("X-Amz-Content-Sha256", hash))
        #expect(failure(verify(honest, [plainKey])) == nil)
        let unsignedPayload = signed(listClusters.setting("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"))
        #expect(
            failure(verify(unsignedPayload, [plainKey]))
                == .payloadHashMismatch(claimed: "UNSIGNED-PAYLOAD", computed: hash)
        )
        var otherBody = honest
        otherBody.body = Array("{ }".utf8)
        #expect(failure(verify(otherBody, [plainKey]))?.awsErrorType == "InvalidSignatureException")
    }

    @Test("no refusal's message or description shows the secret or the session token")
    func noSecretsInMessages() {
        let secret = "check-secret-0000000000000001"
        let token = "check-session-token-1"
        let errors: [SigV4Error] = [
            failure(verify(signed(with: tokenKey), [plainKey])),
            failure(verify(signed(), [tokenKey])),
            failure(
                verify(
                    signed(
                        with: AccessKey(
                            accessKeyID: "AKIAGANTRYCHECK001",
                            secretAccessKey: secret,
                            sessionToken: "check-session-token-9"
                        )
                    ),
                    [tokenKey]
                )
            ),
            failure(verify(signed(with: tokenKey).setting("X-Amz-Target", "x"), [tokenKey])),
            failure(verify(signed(), [plainKey], now: vectorTime + 3_600)),
        ].compactMap { $0 }
        #expect(errors.count == 5)
        for error in errors {
            let shown = "\(error) \(error.message) \(String(reflecting: error))"
            #expect(!shown.contains(secret))
            #expect(!shown.contains(token))
        }
        #expect(!"\(tokenKey)".contains(secret) && !"\(tokenKey)".contains(token))
        #expect(!String(reflecting: tokenKey).contains(secret))
    }

    @Test("the expiry messages name the request time and the server time")
    func expiryMessages() {
        let late = SigV4Error.signatureExpired(signedAt: vectorTime, now: vectorTime + 16 * 60)
        #expect(
            late.message
                == "Signature expired: 20261125T191500Z is now earlier than 20261125T191600Z (20261125T193100Z - 15 min.)"
        )
        let early = SigV4Error.signatureNotYetCurrent(signedAt: vectorTime, now: vectorTime - 16 * 60)
        #expect(
            early.message
                == "Signature not yet current: 20261125T191500Z is still later than 20261125T191400Z "
                + "(20261125T185900Z + 15 min.)"
        )
        #expect(late.awsErrorType == "InvalidSignatureException" && late.httpStatus == 400)
    }

    @Test("each refusal maps to its AWS error type")
    func errorTypes() {
        let debug = SigV4Error.SignatureDebug(canonicalRequestHash: "", stringToSign: "")
        let expected: [(SigV4Error, String)] = [
            (.missingAuthorization, "MissingAuthenticationTokenException"),
            (.malformedAuthorization(reason: "x"), "IncompleteSignatureException"),
            (.duplicateHeader(name: "X-Amz-Date"), "IncompleteSignatureException"),
            (.missingDate, "IncompleteSignatureException"),
            (.malformedDate(value: "x"), "IncompleteSignatureException"),
            (.headerNotSigned(name: "host"), "IncompleteSignatureException"),
            (.signedHeaderMissing(name: "accept"), "IncompleteSignatureException"),
            (.scopeDateMismatch(scopeDate: "20261124", amzDate: "20261125T000000Z"), "InvalidSignatureException"),
            (.wrongService(scoped: "s3", expected: "ecs"), "InvalidSignatureException"),
            (.wrongRegion(scoped: "eu-west-1", expected: "us-east-1"), "InvalidSignatureException"),
            (.signatureExpired(signedAt: 0, now: 1_000), "InvalidSignatureException"),
            (.signatureNotYetCurrent(signedAt: 1_000, now: 0), "InvalidSignatureException"),
            (.unknownAccessKey(accessKeyID: "AKIA"), "UnrecognizedClientException"),
            (.missingSecurityToken(accessKeyID: "AKIA"), "UnrecognizedClientException"),
            (.unexpectedSecurityToken(accessKeyID: "AKIA"), "UnrecognizedClientException"),
            (.securityTokenMismatch(accessKeyID: "AKIA"), "UnrecognizedClientException"),
            (.payloadHashMismatch(claimed: "a", computed: "b"), "InvalidSignatureException"),
            (.signatureMismatch(debug: debug), "InvalidSignatureException"),
        ]
        for (error, type) in expected {
            #expect(error.awsErrorType == type, "\(error)")
            #expect(error.description == "\(type): \(error.message)")
            #expect(!error.message.isEmpty)
        }
    }
}
