package import HTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An API failure: an HTTP status and a JSON body `{"error":{"code","message","field"?}}`.
package struct APIError: Error, Equatable, Sendable {
    /// HTTP status.
    package var status: Int
    /// A stable machine-readable code, e.g. `invalid_field`.
    package var code: String
    /// A sentence a user can act on.
    package var message: String
    /// The request field at fault, when there is one.
    package var field: String?
    /// Seconds after which a retry may succeed (503s).
    package var retryAfterSeconds: Int?
    /// Extra members of the error object (e.g. `currentVersion`, `leader`).
    package var details: [String: String] = [:]

    /// Creates an error.
    package init(
        status: Int,
        code: String,
        message: String,
        field: String? = nil,
        retryAfterSeconds: Int? = nil,
        details: [String: String] = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
        self.details = details
    }

    /// 400 for a field that breaks a rule.
    package static func invalid(_ field: String, _ rule: String) -> APIError {
        APIError(status: 400, code: "invalid_field", message: "\(field) \(rule)", field: field)
    }

    /// 503 while no leader is known or reachable.
    package static func unavailable(_ message: String, retryAfterSeconds: Int = 1) -> APIError {
        APIError(status: 503, code: "unavailable", message: message, retryAfterSeconds: retryAfterSeconds)
    }

    /// The response carrying this error.
    package var response: HTTPResponse {
        var object: [String: String] = details
        object["code"] = code
        object["message"] = message
        if let field { object["field"] = field }
        let body = JSON.encode(["error": object])
        var headers = [HTTPHeader(name: "Content-Type", value: "application/json")]
        if let retryAfterSeconds { headers.append(HTTPHeader(name: "Retry-After", value: String(retryAfterSeconds))) }
        return HTTPResponse(status: status, headers: headers, body: body)
    }
}

/// JSON helpers over FoundationEssentials' coders with sorted keys, so bodies are stable.
package enum JSON {
    /// Encodes `value` with sorted keys.
    package static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            preconditionFailure("encoding \(T.self) to JSON failed: \(error)")
        }
    }

    /// Decodes `T` or throws a 400 that names the expected shape.
    package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], shape: String) throws(APIError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw APIError(status: 400, code: "invalid_json", message: "the body must be JSON of the form \(shape)")
        }
    }

    /// A 200 (or `status`) response with `value` as JSON.
    package static func response<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [HTTPHeader(name: "Content-Type", value: "application/json")],
            body: encode(value)
        )
    }
}
