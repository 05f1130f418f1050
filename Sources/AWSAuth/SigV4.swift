package import HTTP

/// AWS Signature Version 4 (the `AWS4-HMAC-SHA256` Authorization header) as a server checks it, and as a client
/// makes it (for tests and tools). Pure: a request, the keys and the time in; a verdict out. Follows AWS's "Create a
/// signed AWS API request" (IAM User Guide, Signature Version 4) and matches botocore's signer byte for byte.
package enum SigV4 {
    /// The only algorithm SigV4 defines.
    package static let algorithm = "AWS4-HMAC-SHA256"
    /// How far `X-Amz-Date` may be from the server's clock, either way, in seconds: AWS's 15 minutes.
    package static let allowedSkew: Int64 = 15 * 60

    /// What a verified signature established.
    package struct Verified: Sendable, Equatable {
        /// The access key that signed the request.
        package var accessKeyID: String
        /// The region of the credential scope.
        package var region: String
        /// The service of the credential scope.
        package var service: String
        /// `X-Amz-Date` in Unix seconds.
        package var signedAt: Int64

        /// A result from its parts.
        package init(accessKeyID: String, region: String, service: String, signedAt: Int64) {
            self.accessKeyID = accessKeyID
            self.region = region
            self.service = service
            self.signedAt = signedAt
        }
    }

    /// Checks `request`'s SigV4 signature, looking its access key up with `key`.
    ///
    /// The checks, in order, each with its own `SigV4Error`: one well-formed `Authorization` header; one
    /// `X-Amz-Date` in basic ISO 8601; `host` and `x-amz-date` signed, and `x-amz-security-token` too when sent;
    /// every signed header present; the scope's date, `service` and (when `region` is not nil) region; the time
    /// within `allowedSkew` of `now`; a known access key; the session token the key expects, and no other;
    /// `X-Amz-Content-Sha256`, when sent, equal to the body's real hash; and the signature, compared in constant
    /// time.
    ///
    /// - Parameters:
    ///   - now: the server's clock, Unix seconds.
    ///   - region: the region this endpoint serves, or nil to accept any region in the credential scope.
    ///   - service: the signing name of the service (`ecs` for Amazon ECS).
    ///   - key: the access key with the given id, or nil when there is none.
    package static func verify(
        request: HTTPRequest,
        now: Int64,
        region: String?,
        service: String = "ecs",
        key: (_ accessKeyID: String) -> AccessKey?
    ) -> Result<Verified, SigV4Error> {
        do throws(SigV4Error) {
            return .success(try verifyThrowing(request, now: now, region: region, service: service, key: key))
        } catch {
            return .failure(error)
        }
    }

    /// Checks `request`'s SigV4 signature against `keys` (see `verify(request:now:region:service:key:)`).
    package static func verify(
        request: HTTPRequest,
        keys: [AccessKey],
        now: Int64,
        region: String?,
        service: String = "ecs"
    ) -> Result<Verified, SigV4Error> {
        verify(request: request, now: now, region: region, service: service) { id in
            keys.first { $0.accessKeyID == id }
        }
    }

    static func verifyThrowing(
        _ request: HTTPRequest,
        now: Int64,
        region: String?,
        service: String,
        key: (String) -> AccessKey?
    ) throws(SigV4Error) -> Verified {
        guard let header = try single(request, "Authorization") else { throw .missingAuthorization }
        let authorization = try Authorization.parse(header)
        guard let amzDate = try single(request, "X-Amz-Date") else { throw .missingDate }
        guard let signedAt = unixTime(amzDate: amzDate) else { throw .malformedDate(value: amzDate) }

        let signed = Set(authorization.signedHeaders.map(lowercased))
        for required in ["host", "x-amz-date"] where !signed.contains(required) {
            throw .headerNotSigned(name: required)
        }
        let presentedToken = try single(request, "X-Amz-Security-Token")
        if presentedToken != nil && !signed.contains("x-amz-security-token") {
            throw .headerNotSigned(name: "x-amz-security-token")
        }
        for name in authorization.signedHeaders where request.headers(named: name).isEmpty {
            throw .signedHeaderMissing(name: name)
        }

        guard authorization.date == amzDate.prefix(8) else {
            throw .scopeDateMismatch(scopeDate: authorization.date, amzDate: amzDate)
        }
        guard authorization.service == service else {
            throw .wrongService(scoped: authorization.service, expected: service)
        }
        if let region, authorization.region != region {
            throw .wrongRegion(scoped: authorization.region, expected: region)
        }
        if signedAt < now - allowedSkew { throw .signatureExpired(signedAt: signedAt, now: now) }
        if signedAt > now + allowedSkew { throw .signatureNotYetCurrent(signedAt: signedAt, now: now) }

        guard let accessKey = key(authorization.accessKeyID) else {
            throw .unknownAccessKey(accessKeyID: authorization.accessKeyID)
        }
        switch (accessKey.sessionToken, presentedToken) {
        case (nil, nil):
            break
        case (nil, .some):
            throw .unexpectedSecurityToken(accessKeyID: accessKey.accessKeyID)
        case (.some, nil):
            throw .missingSecurityToken(accessKeyID: accessKey.accessKeyID)
        case (.some(let expected), .some(let presented)):
            guard LibCrypto.constantTimeEquals(expected, Array(presented.utf8)) else {
                throw .securityTokenMismatch(accessKeyID: accessKey.accessKeyID)
            }
        }

        // The body's real hash goes into the canonical request; a client-sent X-Amz-Content-Sha256 (S3 style,
        // which botocore signs with when present) must agree with it, so no unsigned or streaming payload passes.
        let payloadHash = LibCrypto.hex(LibCrypto.sha256(request.body))
        if let claimed = try single(request, "X-Amz-Content-Sha256"), claimed != payloadHash {
            throw .payloadHashMismatch(claimed: claimed, computed: payloadHash)
        }

        let canonical = canonicalRequest(request, signedHeaders: authorization.signedHeaders, payloadHash: payloadHash)
        let canonicalHash = LibCrypto.hex(LibCrypto.sha256(Array(canonical.utf8)))
        let toSign = stringToSign(canonicalRequestHash: canonicalHash, amzDate: amzDate, scope: authorization.scope)
        let expected = signature(
            secret: accessKey.secret,
            stringToSign: toSign,
            date: authorization.date,
            region: authorization.region,
            service: authorization.service
        )
        guard LibCrypto.constantTimeEquals(expected, authorization.signature) else {
            throw .signatureMismatch(
                debug: SigV4Error.SignatureDebug(canonicalRequestHash: canonicalHash, stringToSign: toSign)
            )
        }
        return Verified(
            accessKeyID: accessKey.accessKeyID,
            region: authorization.region,
            service: authorization.service,
            signedAt: signedAt
        )
    }

    /// The one value of header `name`, nil when absent; more than one is refused (which did the signer mean?).
    static func single(_ request: HTTPRequest, _ name: String) throws(SigV4Error) -> String? {
        let values = request.headers(named: name)
        guard values.count <= 1 else { throw .duplicateHeader(name: name) }
        return values.first
    }

    /// Headers a signer leaves out, as botocore does: hop-by-hop headers proxies may rewrite, the user agent, the
    /// trace id, the Authorization header itself and the length the HTTP client adds after signing.
    static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "content-length", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// `request` signed with `key` at `now` for `region` and `service`, as an AWS SDK signs it: `X-Amz-Date` (and
    /// `X-Amz-Security-Token` when the key has a session token) set, every header but `unsignedHeaders` signed, and
    /// the `Authorization` header replaced. The request must carry a `Host` header.
    package static func sign(
        _ request: HTTPRequest,
        key: AccessKey,
        now: Int64,
        region: String,
        service: String = "ecs"
    ) -> HTTPRequest {
        precondition(request.header("Host") != nil, "SigV4.sign needs a request with a Host header")
        var signedRequest = request
        let amzDate = amzDate(unixTime: now)
        let date = String(amzDate.prefix(8))
        var replaced: Set<String> = ["authorization", "x-amz-date"]
        if key.sessionToken != nil { replaced.insert("x-amz-security-token") }
        signedRequest.headers.removeAll { replaced.contains(lowercased($0.name)) }
        signedRequest.headers.append(HTTPHeader(name: "X-Amz-Date", value: amzDate))
        if let token = key.sessionToken {
            signedRequest.headers.append(
                HTTPHeader(name: "X-Amz-Security-Token", value: String(decoding: token, as: UTF8.self))
            )
        }
        let signedHeaders = Set(signedRequest.headers.map { lowercased($0.name) }).subtracting(unsignedHeaders).sorted {
            $0.utf8.lexicographicallyPrecedes($1.utf8)
        }
        let payloadHash = LibCrypto.hex(LibCrypto.sha256(signedRequest.body))
        let canonical = canonicalRequest(signedRequest, signedHeaders: signedHeaders, payloadHash: payloadHash)
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let toSign = stringToSign(
            canonicalRequestHash: LibCrypto.hex(LibCrypto.sha256(Array(canonical.utf8))),
            amzDate: amzDate,
            scope: scope
        )
        let signatureBytes = signature(
            secret: key.secret,
            stringToSign: toSign,
            date: date,
            region: region,
            service: service
        )
        let value =
            "\(algorithm) Credential=\(key.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), "
            + "Signature=\(LibCrypto.hex(signatureBytes))"
        signedRequest.headers.append(HTTPHeader(name: "Authorization", value: value))
        return signedRequest
    }

    /// The string to sign: the algorithm, the request time, the credential scope and the hex SHA-256 of the
    /// canonical request, one per line.
    package static func stringToSign(canonicalRequestHash: String, amzDate: String, scope: String) -> String {
        [algorithm, amzDate, scope, canonicalRequestHash].joined(separator: "\n")
    }

    /// The signing key: HMAC-SHA256 chained from `"AWS4" + secret` through the date, region, service and
    /// `aws4_request`.
    package static func signingKey(secret: [UInt8], date: String, region: String, service: String) -> [UInt8] {
        var key = Array("AWS4".utf8) + secret
        for part in [date, region, service, "aws4_request"] {
            key = LibCrypto.hmacSHA256(key: key, data: Array(part.utf8))
        }
        return key
    }

    /// The signature (raw bytes) of `stringToSign` under the signing key for the scope.
    static func signature(
        secret: [UInt8],
        stringToSign: String,
        date: String,
        region: String,
        service: String
    ) -> [UInt8] {
        let key = signingKey(secret: secret, date: date, region: region, service: service)
        return LibCrypto.hmacSHA256(key: key, data: Array(stringToSign.utf8))
    }

    /// `text` with ASCII capitals mapped to lowercase (header names are ASCII; no locale applies).
    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
