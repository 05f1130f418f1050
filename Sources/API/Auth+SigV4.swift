package import AWSAuth
package import HTTP

extension TokenTable {
    /// The entry (name and role) of the access key that signed `request` with AWS Signature Version 4, or why the
    /// signature was refused (each `SigV4Error` names its AWS error type, for an ECS-style error response).
    ///
    /// - Parameters:
    ///   - now: the controller's clock, Unix seconds; the request's `X-Amz-Date` must be within 15 minutes of it.
    ///   - region: the region the endpoint serves, or nil to accept whatever region the client signed for.
    ///   - service: the signing name the client must have used (`ecs` for the aws CLI's and boto3's ECS client).
    package func authenticate(
        sigV4 request: HTTPRequest,
        now: Int64,
        region: String?,
        service: String = "ecs"
    ) -> Result<Entry, SigV4Error> {
        SigV4.verify(request: request, now: now, region: region, service: service) { id in
            accessKey(id: id)?.key
        }
        .map { verified in
            // verify only succeeds for a key `accessKey(id:)` returned.
            let holder = accessKey(id: verified.accessKeyID)!
            return Entry(name: holder.name, role: holder.role, secret: [])
        }
    }

    /// The access key entry with id `id`, or nil.
    package func accessKey(id: String) -> AccessKeyEntry? {
        accessKeys.first { $0.key.accessKeyID == id }
    }
}
