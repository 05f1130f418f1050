/// A complete HTTP/1.x response as `HTTPResponseParser` produces it and `HTTPClient` returns it.
package struct HTTPClientResponse: Sendable, Equatable {
    /// The status code, 100 through 999.
    package var status: Int
    /// Every header field line in the order received, duplicates included.
    package var headers: [HTTPHeader]
    /// The body with any chunked framing removed; empty when the response has none.
    package var body: [UInt8]
    /// The version from the status line.
    package var version: HTTPVersion

    /// A response from its parts.
    package init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = [], version: HTTPVersion = .http1_1) {
        self.status = status
        self.headers = headers
        self.body = body
        self.version = version
    }

    /// The value of the first header named `name`, compared case-insensitively, or nil.
    package func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// The body decoded as UTF-8, invalid sequences replaced.
    package var bodyText: String {
        String(decoding: body, as: UTF8.self)
    }

    /// Whether the server keeps the connection open after this response (RFC 9112 §9.3): HTTP/1.1 unless a
    /// `Connection` header lists `close`, HTTP/1.0 only if one lists `keep-alive`.
    package var keepAlive: Bool {
        var sawClose = false
        var sawKeepAlive = false
        for header in headers where asciiCaseInsensitiveEquals(header.name, "Connection") {
            for option in commaSeparatedElements(header.value) {
                if asciiCaseInsensitiveEquals(option, "close") {
                    sawClose = true
                } else if asciiCaseInsensitiveEquals(option, "keep-alive") {
                    sawKeepAlive = true
                }
            }
        }
        if sawClose {
            return false
        }
        return version == .http1_0 ? sawKeepAlive : true
    }
}

/// Why a response could not be parsed. After any of these the connection's framing is lost: close it.
package enum HTTPResponseParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The status line and headers (or a chunked trailer section) exceed `maxHeaderBytes`, or there are more
    /// than `maxHeaderCount` header lines.
    case headersTooLarge
    /// The declared or accumulated body exceeds `maxBodyBytes`.
    case bodyTooLarge
    /// The bytes are not a well-formed HTTP/1.x response; the message says which rule was broken.
    case malformed(String)
    /// `Transfer-Encoding` names a coding other than a single `chunked`.
    case unsupportedTransferEncoding
    /// The connection ended in the middle of a response.
    case truncated

    /// A short explanation.
    package var description: String {
        switch self {
        case .headersTooLarge: "response header fields too large"
        case .bodyTooLarge: "response body too large"
        case .malformed(let detail): detail
        case .unsupportedTransferEncoding: "unsupported transfer encoding"
        case .truncated: "the connection closed in the middle of a response"
        }
    }

    /// The response-side equivalent of an error from the shared request grammar.
    init(_ error: HTTPParseError) {
        switch error {
        case .headersTooLarge: self = .headersTooLarge
        case .bodyTooLarge: self = .bodyTooLarge
        case .malformed(let detail): self = .malformed(detail)
        case .unsupportedTransferEncoding: self = .unsupportedTransferEncoding
        case .versionNotSupported: self = .malformed("HTTP version not supported")
        }
    }
}

/// An incremental HTTP/1.x response parser: a pure function of the bytes fed to it, with no I/O and no clock.
///
/// Feed it whatever the socket delivered, in any split; it returns each response as soon as its last byte
/// arrives. Framing follows RFC 9112 §6.3: no body for 1xx, 204, 304 or a response to HEAD (announce each request
/// with `expect(method:)`); otherwise chunked, then `Content-Length`, then everything until the connection closes
/// (call `finish()` at EOF). Interim 1xx responses other than 101 are skipped. Lines must end in CRLF.
///
/// After any error the parser is poisoned and every later call throws it again.
package struct HTTPResponseParser: Sendable {
    /// Bounds on what one response may buffer; exceeding one is an error as soon as it is certain.
    package struct Limits: Sendable, Equatable {
        /// Most bytes of status line plus header lines, counting every CRLF; the same bound applies to a
        /// chunked body's trailer section.
        package var maxHeaderBytes: Int
        /// Most bytes of body, after chunked framing is removed.
        package var maxBodyBytes: Int
        /// Most header field lines in one response.
        package var maxHeaderCount: Int

        /// Limits with the given bounds; the defaults suit API responses and modest downloads.
        package init(maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int = 64 << 20, maxHeaderCount: Int = 200) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxHeaderCount = maxHeaderCount
        }
    }

    /// Where the parser is within the current response.
    enum State: Sendable, Equatable {
        /// Waiting for a status line.
        case statusLine
        /// Status line parsed; reading header field lines up to the blank line.
        case headers
        /// Waiting for this many body bytes, declared by `Content-Length`.
        case fixedBody(Int)
        /// Waiting for a chunk-size line.
        case chunkSize
        /// Waiting for this many chunk-data bytes and the CRLF after them.
        case chunkData(Int)
        /// After the last chunk: reading trailer field lines up to the blank line.
        case trailers
        /// Taking every byte as body until `finish()`.
        case untilClose
    }

    /// The bounds this parser enforces.
    package let limits: Limits
    /// The error that poisoned the parser, if any.
    package private(set) var failure: HTTPResponseParseError?

    /// Where the parser is within the current response.
    var state = State.statusLine
    /// Bytes received and not yet compacted away.
    var buffer: [UInt8] = []
    /// The first unconsumed byte. Invariant: `0 <= start <= buffer.count`.
    var start = 0
    /// Where the search for the next CRLF resumes. Invariant: `start <= scanIndex <= buffer.count`, no CR in
    /// `start..<scanIndex`.
    var scanIndex = 0
    /// Bytes of head (or trailer section) consumed so far in the current response, for `maxHeaderBytes`.
    var sectionBytes = 0
    /// The response being assembled. Invariant: non-nil exactly when `state` is not `.statusLine`.
    var pending: HTTPClientResponse?
    /// For each request sent and not yet answered, whether it was a HEAD (whose response has no body).
    var headRequests: [Bool] = []

    /// A parser waiting for the first response on a connection.
    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether part of a response has been received.
    package var hasPartialResponse: Bool {
        failure == nil && (state != .statusLine || start < buffer.count)
    }

    /// Records that a request with `method` was sent; responses are matched to these in order. Only HEAD changes
    /// anything (its response carries no body); with nothing recorded, a body is expected as usual.
    package mutating func expect(method: String) {
        headRequests.append(method == "HEAD")
    }

    /// Feeds bytes; returns every response completed by them, in order, or throws.
    package mutating func feed(_ bytes: some Collection<UInt8>) throws(HTTPResponseParseError) -> [HTTPClientResponse] {
        if let failure {
            throw failure
        }
        buffer.append(contentsOf: bytes)
        var completed: [HTTPClientResponse] = []
        do {
            while try step(completing: &completed) {}
        } catch {
            poison(error)
            throw error
        }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            scanIndex -= start
            start = 0
        }
        return completed
    }

    /// Tells the parser the connection has ended: completes a response framed by the close, returns nil when
    /// idle between responses, and throws `.truncated` when a response was cut short.
    package mutating func finish() throws(HTTPResponseParseError) -> HTTPClientResponse? {
        if let failure {
            throw failure
        }
        switch state {
        case .untilClose:
            var completed: [HTTPClientResponse] = []
            pending?.body = Array(buffer[start...])
            consume(buffer.count - start)
            complete(into: &completed)
            return completed.first
        case .statusLine where start == buffer.count:
            return nil
        default:
            poison(.truncated)
            throw .truncated
        }
    }

    /// Records `error` and drops everything buffered.
    mutating func poison(_ error: HTTPResponseParseError) {
        failure = error
        buffer = []
        start = 0
        scanIndex = 0
        pending = nil
    }

    /// Makes one unit of progress, appending a response to `completed` if one finishes; false when more bytes
    /// are needed.
    mutating func step(completing completed: inout [HTTPClientResponse]) throws(HTTPResponseParseError) -> Bool {
        switch state {
        case .statusLine:
            guard let line = try nextLine(limit: limits.maxHeaderBytes, tooLong: .headersTooLarge) else {
                return false
            }
            let (version, status) = try Self.parseStatusLine(line)
            sectionBytes = line.count + 2
            pending = HTTPClientResponse(status: status, version: version)
            state = .headers

        case .headers:
            let limit = limits.maxHeaderBytes - sectionBytes
            guard let line = try nextLine(limit: limit, tooLong: .headersTooLarge) else {
                return false
            }
            sectionBytes += line.count + 2
            if line.isEmpty {
                try beginBody(completing: &completed)
            } else {
                let header: HTTPHeader
                do {
                    header = try HTTPSyntax.parseFieldLine(line)
                } catch {
                    throw HTTPResponseParseError(error)
                }
                guard pending?.headers.count ?? 0 < limits.maxHeaderCount else {
                    throw .headersTooLarge
                }
                pending?.headers.append(header)
            }

        case .fixedBody(let length):
            guard buffer.count - start >= length else {
                return false
            }
            pending?.body = Array(buffer[start..<start + length])
            consume(length)
            complete(into: &completed)

        case .chunkSize:
            guard let line = try nextLine(limit: 4096, tooLong: .malformed("chunk-size line too long")) else {
                return false
            }
            let size: Int
            do {
                size = try HTTPSyntax.parseChunkSize(line, cap: limits.maxBodyBytes + 1)
            } catch {
                throw HTTPResponseParseError(error)
            }
            guard size <= limits.maxBodyBytes - (pending?.body.count ?? 0) else {
                throw .bodyTooLarge
            }
            if size == 0 {
                sectionBytes = 0
                state = .trailers
            } else {
                state = .chunkData(size)
            }

        case .chunkData(let size):
            guard buffer.count - start >= size + 2 else {
                return false
            }
            guard buffer[start + size] == HTTPSyntax.cr, buffer[start + size + 1] == HTTPSyntax.lf else {
                throw .malformed("chunk data is not followed by CRLF")
            }
            pending?.body.append(contentsOf: buffer[start..<start + size])
            consume(size + 2)
            state = .chunkSize

        case .trailers:
            let limit = limits.maxHeaderBytes - sectionBytes
            guard let line = try nextLine(limit: limit, tooLong: .headersTooLarge) else {
                return false
            }
            sectionBytes += line.count + 2
            if line.isEmpty {
                complete(into: &completed)
            } else {
                do {
                    _ = try HTTPSyntax.parseFieldLine(line)
                } catch {
                    throw HTTPResponseParseError(error)
                }
            }

        case .untilClose:
            guard buffer.count - start <= limits.maxBodyBytes else {
                throw .bodyTooLarge
            }
            return false
        }
        return true
    }

    /// Parses `HTTP/x.y SP 3DIGIT [SP reason-phrase]` (RFC 9112 §4); a missing reason phrase is tolerated.
    static func parseStatusLine(
        _ line: ArraySlice<UInt8>
    ) throws(HTTPResponseParseError) -> (version: HTTPVersion, status: Int) {
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        let bytes = Array(line)
        guard bytes.count >= 12, bytes[8] == UInt8(ascii: " "), bytes[9..<12].allSatisfy(digits.contains),
            bytes.count == 12 || bytes[12] == UInt8(ascii: " ")
        else {
            throw .malformed("status line must be HTTP-version SP 3DIGIT SP reason")
        }
        let version: HTTPVersion
        do {
            version = try HTTPSyntax.parseVersion(bytes[0..<8])
        } catch {
            throw HTTPResponseParseError(error)
        }
        guard bytes.dropFirst(12).allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
            throw .malformed("reason phrase contains a control character")
        }
        let status = bytes[9..<12].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard status >= 100 else {
            throw .malformed("status code \(status) is below 100")
        }
        return (version, status)
    }

    /// Decides the body's framing from the completed head (RFC 9112 §6.3) and moves to reading it.
    mutating func beginBody(completing completed: inout [HTTPClientResponse]) throws(HTTPResponseParseError) {
        guard let response = pending else {
            preconditionFailure("HTTPResponseParser: head completed with no pending response")
        }
        if response.status < 200 {
            guard response.status != 101 else {
                throw .malformed("unexpected 101 Switching Protocols")
            }
            // An interim response; the final one follows.
            pending = nil
            state = .statusLine
            return
        }
        let toHEAD = headRequests.first ?? false
        if response.status == 204 || response.status == 304 || toHEAD {
            complete(into: &completed)
            return
        }
        let transferEncodings = response.headers.filter { asciiCaseInsensitiveEquals($0.name, "Transfer-Encoding") }
        let contentLengths = response.headers.filter { asciiCaseInsensitiveEquals($0.name, "Content-Length") }
        if !transferEncodings.isEmpty {
            guard contentLengths.isEmpty else {
                throw .malformed("both Transfer-Encoding and Content-Length are present")
            }
            let codings = transferEncodings.flatMap { commaSeparatedElements($0.value) }
            guard codings.count == 1, asciiCaseInsensitiveEquals(codings[0], "chunked") else {
                throw .unsupportedTransferEncoding
            }
            state = .chunkSize
            return
        }
        guard !contentLengths.isEmpty else {
            state = .untilClose
            return
        }
        var length = 0
        for (index, header) in contentLengths.enumerated() {
            let parsed: Int
            do {
                parsed = try HTTPSyntax.parseContentLength(header.value, cap: limits.maxBodyBytes + 1)
            } catch {
                throw HTTPResponseParseError(error)
            }
            guard index == 0 || parsed == length else {
                throw .malformed("Content-Length values disagree")
            }
            length = parsed
        }
        guard length <= limits.maxBodyBytes else {
            throw .bodyTooLarge
        }
        if length == 0 {
            complete(into: &completed)
        } else {
            state = .fixedBody(length)
        }
    }

    /// Hands the pending response to `completed`, matches it to its request, and waits for the next status line.
    mutating func complete(into completed: inout [HTTPClientResponse]) {
        guard let response = pending else {
            preconditionFailure("HTTPResponseParser: completed with no pending response")
        }
        completed.append(response)
        if !headRequests.isEmpty {
            headRequests.removeFirst()
        }
        pending = nil
        state = .statusLine
    }

    /// Marks `count` bytes after `start` consumed.
    mutating func consume(_ count: Int) {
        start += count
        scanIndex = start
    }

    /// The next CRLF-terminated line without its terminator, consuming it; nil if no complete line is buffered.
    ///
    /// Throws `tooLong` once the line plus its CRLF must exceed `limit` bytes, even before it is complete.
    mutating func nextLine(
        limit: Int,
        tooLong: HTTPResponseParseError
    ) throws(HTTPResponseParseError) -> ArraySlice<UInt8>? {
        // Only bytes that could still belong to a line within the limit are examined, so the error does not
        // depend on how the bytes were split.
        let scanEnd = min(buffer.count, start + max(limit - 1, 0))
        var index = scanIndex
        while index < scanEnd {
            let byte = buffer[index]
            if byte == HTTPSyntax.lf {
                throw .malformed("bare LF line ending; lines must end in CRLF")
            }
            if byte == HTTPSyntax.cr {
                guard index + 1 < buffer.count else {
                    break
                }
                guard buffer[index + 1] == HTTPSyntax.lf else {
                    throw .malformed("bare CR in a line")
                }
                guard index + 2 - start <= limit else {
                    throw tooLong
                }
                let line = buffer[start..<index]
                consume(index + 2 - start)
                return line
            }
            index += 1
        }
        scanIndex = index
        let buffered = buffer.count - start
        if buffered > 0 && buffered >= limit {
            throw tooLong
        }
        return nil
    }
}
