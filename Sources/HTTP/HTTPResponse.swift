/// A response to serialize onto an HTTP/1.1 connection.
///
/// The serializer owns the framing headers: `Content-Length`, `Transfer-Encoding` and `Connection` in
/// `headers` are ignored, so a handler cannot write a response whose framing disagrees with its body.
package struct HTTPResponse: Sendable, Equatable {
    /// The status code, 100 through 999.
    package var status: Int
    /// Header fields other than the framing ones, in the order to send them.
    package var headers: [HTTPHeader]
    /// The complete body; empty for a streamed (chunked) response, whose body goes out via `chunkedFrame`.
    package var body: [UInt8]

    /// A response from its parts.
    package init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        precondition((100...999).contains(status), "HTTPResponse: status \(status) is not three digits")
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The status line, headers and body, framed by `Content-Length`.
    ///
    /// 1xx and 204 responses carry neither a `Content-Length` nor a body (RFC 9110 §8.6). `Connection: close`
    /// is added when `keepAlive` is false, so the client knows not to send more.
    package func serialized(keepAlive: Bool) -> [UInt8] {
        let bodyless = status < 200 || status == 204
        var bytes = head(keepAlive: keepAlive, framing: bodyless ? nil : "Content-Length: \(body.count)")
        if !bodyless {
            bytes.append(contentsOf: body)
        }
        return bytes
    }

    /// The status line and headers of a streamed response, framed by `Transfer-Encoding: chunked`.
    ///
    /// Follow it with `chunkedFrame(_:)` for each piece of body and `lastChunk` at the end; `body` is ignored.
    package func serializedChunkedHead(keepAlive: Bool) -> [UInt8] {
        head(keepAlive: keepAlive, framing: "Transfer-Encoding: chunked")
    }

    /// The status line, non-framing headers, `framing` if any, `Connection: close` if not keep-alive, and the
    /// blank line.
    func head(keepAlive: Bool, framing: String?) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(for: status))\r\n"
        for header in headers where !Self.isFramingHeader(header.name) {
            text += "\(header.name): \(header.value)\r\n"
        }
        if let framing {
            text += "\(framing)\r\n"
        }
        if !keepAlive {
            text += "Connection: close\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Whether `name` is one of the headers the serializer writes itself.
    static func isFramingHeader(_ name: String) -> Bool {
        ["Content-Length", "Transfer-Encoding", "Connection"].contains { asciiCaseInsensitiveEquals($0, name) }
    }

    /// The standard reason phrase for `status` (RFC 9110 §15), or a generic one for its class.
    package static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default:
            switch status / 100 {
            case 1: "Informational"
            case 2: "Success"
            case 3: "Redirection"
            case 4: "Client Error"
            default: "Server Error"
            }
        }
    }
}

/// One chunk of a chunked response body: hex size, CRLF, the bytes, CRLF (RFC 9112 §7.1).
///
/// Empty input yields no bytes, because a zero-size chunk would end the body; end it with `lastChunk`.
package func chunkedFrame(_ bytes: [UInt8]) -> [UInt8] {
    guard !bytes.isEmpty else {
        return []
    }
    var frame = Array(String(bytes.count, radix: 16, uppercase: true).utf8)
    frame.reserveCapacity(frame.count + bytes.count + 4)
    frame.append(contentsOf: [HTTPSyntax.cr, HTTPSyntax.lf])
    frame.append(contentsOf: bytes)
    frame.append(contentsOf: [HTTPSyntax.cr, HTTPSyntax.lf])
    return frame
}

/// The zero-size chunk and empty trailer section that end a chunked body.
package let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
