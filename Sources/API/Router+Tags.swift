import ClusterState
import HTTP

extension Router {
    /// Routes `/v1/tags`: a resource's tags, by ARN (clusters, services, task definition revisions).
    static func routeTags(
        _ method: String,
        _ rest: [String],
        _ path: String,
        _ query: [String: String],
        _ context: Context,
        _ made: (Operation, String, Access?) throws(APIError) -> APIRequest
    ) throws(APIError) -> APIRequest {
        let token = try clientToken(context.request)
        switch (method, rest) {
        case ("GET", ["tags"]):
            guard let arn = query["resourceArn"], !arn.isEmpty else { throw .invalid("resourceArn", "is required") }
            return try made(.domainRead(.listTags(arn: arn)), "GET /v1/tags", .readonly)
        case ("PUT", ["tags"]):
            let route = "PUT /v1/tags"
            _ = try context.authorize(.operator, route)
            struct Body: Decodable {
                var resourceArn: String?
                var tags: [Tag]?
            }
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: #"{"resourceArn": "arn:aws:ecs:…:cluster/prod", "tags": [{"key": "team", "value": "web"}]}"#
            )
            guard let arn = body.resourceArn, !arn.isEmpty else { throw .invalid("resourceArn", "is required") }
            guard let tags = body.tags, !tags.isEmpty else { throw .invalid("tags", "must name at least one tag") }
            return try made(
                .domainWrite(clientToken: token, command: .tagResource(arn: arn, tags: tags)),
                route,
                .operator
            )
        case ("POST", ["tags", "delete"]):
            let route = "POST /v1/tags/delete"
            _ = try context.authorize(.operator, route)
            struct Body: Decodable {
                var resourceArn: String?
                var tagKeys: [String]?
            }
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: #"{"resourceArn": "arn:aws:ecs:…:cluster/prod", "tagKeys": ["team"]}"#
            )
            guard let arn = body.resourceArn, !arn.isEmpty else { throw .invalid("resourceArn", "is required") }
            guard let keys = body.tagKeys, !keys.isEmpty else {
                throw .invalid("tagKeys", "must name at least one key")
            }
            return try made(
                .domainWrite(clientToken: token, command: .untagResource(arn: arn, keys: keys)),
                route,
                .operator
            )
        default:
            throw notFound(method, path)
        }
    }
}
