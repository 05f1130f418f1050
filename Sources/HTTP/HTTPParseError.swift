/// Why a request could not be parsed; each case maps to the status the server answers with before closing.
///
/// After any of these the connection's framing is lost, so the server must close it after responding.
package enum HTTPParseError: Error, Equatable, Sendable {
    /// The request line and headers exceed `HTTPParser.Limits.maxHeaderBytes`, or there are more than
    /// `maxHeaderCount` header lines, or a chunked trailer section is too large: 431.
    case headersTooLarge
    /// The declared or accumulated body exceeds `HTTPParser.Limits.maxBodyBytes`: 413.
    case bodyTooLarge
    /// The bytes are not a well-formed HTTP/1.x request; the message says which rule was broken: 400.
    case malformed(String)
    /// `Transfer-Encoding` names a coding other than a single `chunked`: 501.
    case unsupportedTransferEncoding
    /// The request line names a version other than HTTP/1.0 or HTTP/1.1: 505.
    case versionNotSupported

    /// The response status code for this error.
    package var status: Int {
        switch self {
        case .headersTooLarge: 431
        case .bodyTooLarge: 413
        case .malformed: 400
        case .unsupportedTransferEncoding: 501
        case .versionNotSupported: 505
        }
    }

    /// A short human-readable explanation, suitable for a plain-text error body.
    package var reason: String {
        switch self {
        case .headersTooLarge: "request header fields too large"
        case .bodyTooLarge: "request body too large"
        case .malformed(let detail): "malformed request: \(detail)"
        case .unsupportedTransferEncoding: "unsupported transfer encoding"
        case .versionNotSupported: "HTTP version not supported"
        }
    }
}
