package import HTTP

/// An error as Amazon ECS sends it: HTTP 400 (500 for `ServerException`) with `{"__type": "<Name>", "message": …}`.
package struct ECSError: Error, Equatable, Sendable {
    /// The error's name from ECS's API model (`ClusterNotFoundException`, …).
    package var type: String
    /// What went wrong, naming the field and the rule.
    package var message: String
    /// The HTTP status: 400 for client errors, 500 for `ServerException`.
    package var status: Int

    /// Creates an error.
    package init(_ type: String, _ message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    /// An invalid parameter (`InvalidParameterException`).
    static func invalid(_ field: String, _ rule: String) -> ECSError {
        ECSError("InvalidParameterException", "\(field): \(rule)")
    }

    /// The response.
    package var response: HTTPResponse {
        let body = ECSJSON.object(["__type": .string(type), "message": .string(message)]).bytes
        return HTTPResponse(
            status: status,
            headers: [
                HTTPHeader(name: "Content-Type", value: ECSGateway.contentType),
                HTTPHeader(name: "x-amzn-ErrorType", value: type),
            ],
            body: body
        )
    }

    /// The ECS error for an error answer of the REST face (`{"error":{"code","message","field"}}`), so that both
    /// faces refuse the same input for the same reason.
    static func from(rest response: HTTPResponse) -> ECSError {
        let parsed = ECSJSON.parse(response.body)?["error"]
        let code = parsed?["code"]?.string ?? ""
        var message = parsed?["message"]?.string ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        if let field = parsed?["field"]?.string, !message.hasPrefix(field) { message = "\(field): \(message)" }
        if response.status >= 500 { return ECSError("ServerException", message, status: 500) }
        switch code {
        case "cluster_not_found": return ECSError("ClusterNotFoundException", message)
        case "service_not_found": return ECSError("ServiceNotFoundException", message)
        case "service_draining", "service_not_active": return ECSError("ServiceNotActiveException", message)
        case "cluster_contains_services": return ECSError("ClusterContainsServicesException", message)
        case "cluster_contains_tasks": return ECSError("ClusterContainsTasksException", message)
        case "cluster_contains_container_instances":
            return ECSError("ClusterContainsContainerInstancesException", message)
        case "unauthorized": return ECSError("UnrecognizedClientException", message)
        case "resource_not_found": return ECSError("ResourceNotFoundException", message)
        case "forbidden": return ECSError("AccessDeniedException", message)
        case "task_definition_not_found", "task_definition_active", "instance_has_tasks", "version_conflict",
            "no_completed_deployment", "instance_inactive", "instance_exists", "task_stopped",
            "service_not_scaled_down", "cannot_start":
            return ECSError("ClientException", message)
        default:
            return ECSError(response.status == 409 ? "ClientException" : "InvalidParameterException", message)
        }
    }
}
