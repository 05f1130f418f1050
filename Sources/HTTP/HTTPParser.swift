/// An incremental HTTP/1.1 request parser: a pure function of the bytes fed to it, with no I/O and no clock.
///
/// Feed it whatever the socket delivered, in any split; it returns each request as soon as its last byte
/// arrives, several at once when the client pipelines. Framing follows RFC 9112 strictly, because a parser
/// that is lenient where a proxy in front of it is strict (or the reverse) lets one request hide inside
/// another:
///
/// - Lines end in CRLF only. A bare LF or bare CR anywhere in the head, a chunk-size line or a trailer is a
///   400, rather than the bare-LF tolerance RFC 9112 §2.2 permits.
/// - Empty lines before a request line are skipped (RFC 9112 §2.2), which absorbs the stray CRLF some
///   clients send after a body.
/// - `Content-Length` must be digits only; repeated fields must agree. A comma-separated list is refused.
/// - `Transfer-Encoding` must be exactly `chunked`; any other coding is a 501. With `Content-Length` too, or
///   in an HTTP/1.0 request, it is a 400 (RFC 9112 §6.1, §6.3).
/// - `Host` is not checked; that is the router's business.
///
/// After any error the parser is poisoned: the connection's framing is lost, and the shell must answer with
/// `HTTPParseError.status` and close.
package struct HTTPParser: Sendable {
    /// Bounds on what one request may buffer; exceeding one is an error as soon as it is certain.
    package struct Limits: Sendable, Equatable {
        /// Most bytes of request line plus header lines, counting every CRLF including the blank line's.
        /// The same bound applies to a chunked body's trailer section.
        package var maxHeaderBytes: Int
        /// Most bytes of body, after chunked framing is removed.
        package var maxBodyBytes: Int
        /// Most header field lines in one request.
        package var maxHeaderCount: Int

        /// Limits with the given bounds; the defaults suit a small API server.
        package init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1 << 20, maxHeaderCount: Int = 100) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxHeaderCount = maxHeaderCount
        }
    }

    /// Where the parser is within the current request.
    enum State: Sendable, Equatable {
        /// Waiting for a request line, skipping blank lines.
        case requestLine
        /// Request line parsed; reading header field lines up to the blank line.
        case headers
        /// Waiting for this many body bytes, declared by `Content-Length`.
        case fixedBody(Int)
        /// Waiting for a chunk-size line.
        case chunkSize
        /// Waiting for this many chunk-data bytes and the CRLF after them.
        case chunkData(Int)
        /// After the last chunk: reading trailer field lines up to the blank line.
        case trailers
    }

    /// The longest chunk-size line, extensions included, accepted before the request is refused.
    static let maxChunkLineBytes = 4096

    /// The bounds this parser enforces.
    package let limits: Limits
    /// The error that poisoned the parser, if any; every later `feed` throws it.
    package private(set) var failure: HTTPParseError?

    /// Where the parser is within the current request.
    var state = State.requestLine
    /// Bytes received and not yet compacted away.
    var buffer: [UInt8] = []
    /// The first unconsumed byte. Invariant: `0 <= start <= buffer.count`.
    var start = 0
    /// Where the search for the next CRLF resumes, so byte-by-byte feeding stays linear.
    /// Invariant: `start <= scanIndex <= buffer.count` and no CR lies in `start..<scanIndex`.
    var scanIndex = 0
    /// Bytes of head (or of trailer section) consumed so far in the current request, for `maxHeaderBytes`.
    var sectionBytes = 0
    /// The request being assembled, from its request line until its last body byte.
    /// Invariant: non-nil exactly when `state` is not `.requestLine`.
    var pending: HTTPRequest?

    /// A parser waiting for the first request of a connection.
    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether a request has started but not completed, for the shell's slow-request timeout.
    ///
    /// False while idle between requests (blank lines included) and once the parser has failed.
    package var hasPartialRequest: Bool {
        failure == nil && (state != .requestLine || start < buffer.count)
    }

    /// Feeds bytes; returns every request completed by them, in order (pipelining), or throws.
    ///
    /// When an error follows requests completed in this same call, those requests are returned and the error
    /// is recorded in `failure`; the shell answers them, then the error, then closes. The next `feed` throws
    /// it. When the error comes first, it is thrown straight away.
    package mutating func feed(_ bytes: some Collection<UInt8>) throws(HTTPParseError) -> [HTTPRequest] {
        if let failure {
            throw failure
        }
        buffer.append(contentsOf: bytes)
        var completed: [HTTPRequest] = []
        do {
            while try step(completing: &completed) {}
        } catch {
            failure = error
            buffer = []
            start = 0
            scanIndex = 0
            pending = nil
            if completed.isEmpty {
                throw error
            }
            return completed
        }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            scanIndex -= start
            start = 0
        }
        return completed
    }

    /// Makes one unit of progress on the buffered bytes, appending a request to `completed` if one finishes.
    ///
    /// Returns false when more bytes are needed.
    mutating func step(completing completed: inout [HTTPRequest]) throws(HTTPParseError) -> Bool {
        switch state {
        case .requestLine:
            guard let line = try nextLine(limit: limits.maxHeaderBytes, tooLong: .headersTooLarge) else {
                return false
            }
            if line.isEmpty {
                return true
            }
            let (method, target, version) = try HTTPSyntax.parseRequestLine(line)
            sectionBytes = line.count + 2
            pending = HTTPRequest(method: method, target: target, version: version)
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
                let header = try HTTPSyntax.parseFieldLine(line)
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
            let tooLong = HTTPParseError.malformed("chunk-size line too long")
            guard let line = try nextLine(limit: Self.maxChunkLineBytes, tooLong: tooLong) else {
                return false
            }
            let size = try HTTPSyntax.parseChunkSize(line, cap: limits.maxBodyBytes + 1)
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
                // Trailers are validated so garbage cannot pass as framing, then dropped: nothing here uses them.
                _ = try HTTPSyntax.parseFieldLine(line)
            }
        }
        return true
    }

    /// Decides the body's framing from the completed head (RFC 9112 §6.3) and moves to reading it.
    mutating func beginBody(completing completed: inout [HTTPRequest]) throws(HTTPParseError) {
        guard let request = pending else {
            preconditionFailure("HTTPParser: head completed with no pending request")
        }
        let transferEncodings = request.headers(named: "Transfer-Encoding")
        let contentLengths = request.headers(named: "Content-Length")
        if !transferEncodings.isEmpty {
            guard contentLengths.isEmpty else {
                throw .malformed("both Transfer-Encoding and Content-Length are present")
            }
            guard request.version == .http1_1 else {
                throw .malformed("Transfer-Encoding in an HTTP/1.0 request")
            }
            let codings = transferEncodings.flatMap(commaSeparatedElements)
            guard !codings.isEmpty else {
                throw .malformed("Transfer-Encoding is empty")
            }
            guard codings.count == 1, asciiCaseInsensitiveEquals(codings[0], "chunked") else {
                throw .unsupportedTransferEncoding
            }
            state = .chunkSize
            return
        }
        var length = 0
        for (index, value) in contentLengths.enumerated() {
            let parsed = try HTTPSyntax.parseContentLength(value, cap: limits.maxBodyBytes + 1)
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

    /// Hands the pending request to `completed` and waits for the next request line.
    mutating func complete(into completed: inout [HTTPRequest]) {
        guard let request = pending else {
            preconditionFailure("HTTPParser: completed with no pending request")
        }
        completed.append(request)
        pending = nil
        state = .requestLine
    }

    /// Marks `count` bytes after `start` consumed.
    mutating func consume(_ count: Int) {
        start += count
        scanIndex = start
    }

    /// The next CRLF-terminated line without its terminator, consuming it; nil if no complete line is buffered.
    ///
    /// Throws `tooLong` once the line plus its CRLF must exceed `limit` bytes, even before it is complete.
    mutating func nextLine(limit: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        // Only bytes that could still belong to a line within the limit are examined, so the error reported
        // (too long, or malformed beyond the limit) does not depend on how the bytes were split.
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
        // No complete line: the line still needs at least one more byte, so at `limit` buffered it cannot fit.
        let buffered = buffer.count - start
        if buffered > 0 && buffered >= limit {
            throw tooLong
        }
        return nil
    }
}
