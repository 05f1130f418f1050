import AWSAuth
package import HTTP

/// Who made an ECS call: the access key that signed it (AWS Signature Version 4, verified against the tokens file's
/// `accessKeys`), or — only when the controller allows anonymous reads — an unsigned caller with role readonly.
package enum ECSAuthentication {
    /// The caller's name and role, or the ECS error to answer (`MissingAuthenticationTokenException`,
    /// `IncompleteSignatureException`, `InvalidSignatureException`, `UnrecognizedClientException`).
    package static func authenticate(
        _ request: HTTPRequest,
        tokens: TokenTable,
        now: Int64,
        region: String,
        allowAnonymousRead: Bool
    ) -> Result<(name: String, role: Role), ECSError> {
        if request.header("Authorization") == nil && allowAnonymousRead {
            return .success(("anonymous", .readonly))
        }
        switch tokens.authenticate(sigV4: request, now: now, region: region) {
        case .success(let entry):
            return .success((entry.name, entry.role))
        case .failure(let error):
            return .failure(ECSError(error.awsErrorType, error.message, status: error.httpStatus))
        }
    }
}
