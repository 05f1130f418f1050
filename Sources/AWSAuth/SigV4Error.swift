/// Why a request's AWS Signature Version 4 was refused. Each case names what was wrong in `message` and the error
/// type an AWS JSON-protocol service (ECS, ECR, DynamoDB) answers with in `awsErrorType`. No case carries the
/// secret access key or the session token.
package enum SigV4Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request has no `Authorization` header.
    case missingAuthorization
    /// The `Authorization` header is not a well-formed `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
    /// Signature=…`; `reason` says which part.
    case malformedAuthorization(reason: String)
    /// A header SigV4 reads appears more than once (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`,
    /// `X-Amz-Content-Sha256`).
    case duplicateHeader(name: String)
    /// The request has no `X-Amz-Date` header.
    case missingDate
    /// `X-Amz-Date` is not a basic-format ISO 8601 UTC time such as `20261125T191500Z`.
    case malformedDate(value: String)
    /// A header that must be signed (`host`, `x-amz-date`, or `x-amz-security-token` when sent) is not in
    /// `SignedHeaders`.
    case headerNotSigned(name: String)
    /// `SignedHeaders` names a header the request does not carry.
    case signedHeaderMissing(name: String)
    /// The date in the credential scope is not the date of `X-Amz-Date`.
    case scopeDateMismatch(scopeDate: String, amzDate: String)
    /// The credential scope names another service.
    case wrongService(scoped: String, expected: String)
    /// The credential scope names another region than the one this endpoint serves.
    case wrongRegion(scoped: String, expected: String)
    /// `X-Amz-Date` is more than `SigV4.allowedSkew` seconds before `now` (both Unix seconds).
    case signatureExpired(signedAt: Int64, now: Int64)
    /// `X-Amz-Date` is more than `SigV4.allowedSkew` seconds after `now` (both Unix seconds).
    case signatureNotYetCurrent(signedAt: Int64, now: Int64)
    /// No access key with this id is configured.
    case unknownAccessKey(accessKeyID: String)
    /// The access key has a session token and the request carries no `X-Amz-Security-Token`.
    case missingSecurityToken(accessKeyID: String)
    /// The request carries an `X-Amz-Security-Token` and the access key has no session token.
    case unexpectedSecurityToken(accessKeyID: String)
    /// The request's `X-Amz-Security-Token` is not the access key's session token.
    case securityTokenMismatch(accessKeyID: String)
    /// `X-Amz-Content-Sha256` is not the SHA-256 of the body (both lowercase hex).
    case payloadHashMismatch(claimed: String, computed: String)
    /// The signature is not the one the access key's secret gives for this request.
    case signatureMismatch(debug: SignatureDebug)

    /// What the server computed for a mismatched signature, for logs and for a client comparing its own
    /// computation; it holds no secret (the canonical request itself is left out: it carries header values such as
    /// the session token).
    package struct SignatureDebug: Sendable, Equatable {
        /// The lowercase hex SHA-256 of the canonical request.
        package var canonicalRequestHash: String
        /// The string to sign, four lines.
        package var stringToSign: String

        /// A debug record from its parts.
        package init(canonicalRequestHash: String, stringToSign: String) {
            self.canonicalRequestHash = canonicalRequestHash
            self.stringToSign = stringToSign
        }
    }

    /// The AWS error type (the JSON protocol's `__type`) this refusal surfaces as.
    package var awsErrorType: String {
        switch self {
        case .missingAuthorization:
            return "MissingAuthenticationTokenException"
        case .malformedAuthorization, .duplicateHeader, .missingDate, .malformedDate, .headerNotSigned,
            .signedHeaderMissing:
            return "IncompleteSignatureException"
        case .unknownAccessKey, .missingSecurityToken, .unexpectedSecurityToken, .securityTokenMismatch:
            return "UnrecognizedClientException"
        case .scopeDateMismatch, .wrongService, .wrongRegion, .signatureExpired, .signatureNotYetCurrent,
            .payloadHashMismatch, .signatureMismatch:
            return "InvalidSignatureException"
        }
    }

    /// The HTTP status AWS JSON-protocol services answer these errors with: 400 for every one of them (ECS and ECR
    /// send `MissingAuthenticationTokenException` and `UnrecognizedClientException` with 400, unlike the 403 of
    /// the query protocol's `MissingAuthenticationToken`).
    package var httpStatus: Int { 400 }

    /// One line saying what was wrong, in AWS's wording where AWS has one.
    package var message: String {
        let invalidToken = "The security token included in the request is invalid"
        switch self {
        case .missingAuthorization:
            return "Missing Authentication Token: the request has no Authorization header; "
                + "sign it with AWS Signature Version 4 (AWS4-HMAC-SHA256)"
        case .malformedAuthorization(let reason):
            return reason
        case .duplicateHeader(let name):
            return "the request carries more than one \(name) header"
        case .missingDate:
            return "Authorization header requires existence of an 'X-Amz-Date' header"
        case .malformedDate(let value):
            return "X-Amz-Date must be in ISO 8601 basic format (YYYYMMDD'T'HHMMSS'Z', for example "
                + "20261125T191500Z); got '\(value)'"
        case .headerNotSigned(let name):
            return "'\(name)' must be a 'SignedHeader' in the AWS Authorization"
        case .signedHeaderMissing(let name):
            return "'\(name)' is named as a SignedHeader, but it does not exist in the HTTP request"
        case .scopeDateMismatch(let scopeDate, let amzDate):
            return "Date in Credential scope does not match YYYYMMDD from X-Amz-Date: '\(scopeDate)' != "
                + "'\(amzDate.prefix(8))', from '\(amzDate)'"
        case .wrongService(let scoped, let expected):
            return "Credential should be scoped to correct service: '\(expected)', not '\(scoped)'"
        case .wrongRegion(let scoped, let expected):
            return "Credential should be scoped to a valid region: '\(expected)', not '\(scoped)'"
        case .signatureExpired(let signedAt, let now):
            let limit = SigV4.amzDate(unixTime: now - SigV4.allowedSkew)
            return "Signature expired: \(SigV4.amzDate(unixTime: signedAt)) is now earlier than \(limit) "
                + "(\(SigV4.amzDate(unixTime: now)) - 15 min.)"
        case .signatureNotYetCurrent(let signedAt, let now):
            let limit = SigV4.amzDate(unixTime: now + SigV4.allowedSkew)
            return "Signature not yet current: \(SigV4.amzDate(unixTime: signedAt)) is still later than \(limit) "
                + "(\(SigV4.amzDate(unixTime: now)) + 15 min.)"
        case .unknownAccessKey(let accessKeyID):
            return "\(invalidToken): access key '\(accessKeyID)' is not configured"
        case .missingSecurityToken(let accessKeyID):
            return "\(invalidToken): access key '\(accessKeyID)' needs an X-Amz-Security-Token header"
        case .unexpectedSecurityToken(let accessKeyID):
            return "\(invalidToken): access key '\(accessKeyID)' takes no session token, "
                + "but the request carries an X-Amz-Security-Token header"
        case .securityTokenMismatch(let accessKeyID):
            return "\(invalidToken): the X-Amz-Security-Token is not the session token of access key '\(accessKeyID)'"
        case .payloadHashMismatch(let claimed, let computed):
            return "The provided 'x-amz-content-sha256' header does not match what was computed: "
                + "the header says '\(claimed)', the body hashes to '\(computed)'"
        case .signatureMismatch:
            return "The request signature we calculated does not match the signature you provided. "
                + "Check your AWS Secret Access Key and signing method."
        }
    }

    /// `awsErrorType: message`.
    package var description: String { "\(awsErrorType): \(message)" }
}
