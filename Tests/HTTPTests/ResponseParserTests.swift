import HTTP
import Testing

/// Everything a response parser produced from a sequence of feeds, comparable across splits of the same bytes.
struct ResponseOutcome: Equatable {
    /// The responses returned, in order.
    var responses: [HTTPClientResponse] = []
    /// The error thrown, if any.
    var error: HTTPResponseParseError?
    /// Whether a response was still partially buffered at the end.
    var partial = false
}

/// Feeds `pieces` in order to a fresh parser told of `methods`, stopping at the first error; with `finish`, then
/// tells it the connection ended.
func parseResponses(
    _ pieces: [[UInt8]],
    methods: [String] = [],
    finish: Bool = false,
    limits: HTTPResponseParser.Limits = HTTPResponseParser.Limits()
) -> ResponseOutcome {
    var parser = HTTPResponseParser(limits: limits)
    for method in methods {
        parser.expect(method: method)
    }
    var outcome = ResponseOutcome()
    do {
        for piece in pieces {
            outcome.responses += try parser.feed(piece)
        }
        if finish, let last = try parser.finish() {
            outcome.responses.append(last)
        }
    } catch {
        outcome.error = error
        return outcome
    }
    outcome.partial = parser.hasPartialResponse
    return outcome
}

/// Parses `text` fed in one piece.
func parseResponses(
    _ text: String,
    methods: [String] = [],
    finish: Bool = false,
    limits: HTTPResponseParser.Limits = HTTPResponseParser.Limits()
) -> ResponseOutcome {
    parseResponses([Array(text.utf8)], methods: methods, finish: finish, limits: limits)
}

@Suite("HTTPResponseParser")
struct ResponseParserTests {
    /// Well-formed responses covering every framing, in sequence on one connection.
    static let validResponses =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
        + "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n"
        + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-Id: 7\r\n\r\n"
        + "HTTP/1.1 304 Not Modified\r\nContent-Length: 40\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"
        + "HTTP/1.1 404\r\ncontent-length: 2\r\n\r\nno"
        + "HTTP/1.0 200 OK\r\n\r\nuntil the end"

    @Test("a Content-Length response yields status, headers and body")
    func contentLength() throws {
        let outcome = parseResponses("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        #expect(outcome.error == nil)
        let response = try #require(outcome.responses.first)
        #expect(response.status == 200)
        #expect(response.version == .http1_1)
        #expect(response.header("content-type") == "text/plain")
        #expect(response.header("Missing") == nil)
        #expect(response.bodyText == "hello")
        #expect(response.keepAlive)
        #expect(!outcome.partial)
    }

    @Test("every framing in sequence, with HEAD and interim responses, gives the expected responses")
    func framings() {
        let outcome = parseResponses(
            Self.validResponses,
            methods: ["GET", "POST", "GET", "GET", "HEAD", "GET", "GET"],
            finish: true
        )
        #expect(outcome.error == nil)
        #expect(outcome.responses.map(\.status) == [200, 201, 204, 304, 200, 404, 200])
        #expect(outcome.responses.map(\.bodyText) == ["hello", "abc0123456789", "", "", "", "no", "until the end"])
        #expect(outcome.responses[2].header("X-Id") == "7")
        #expect(outcome.responses.last?.keepAlive == false)
    }

    @Test("results are identical fed whole, byte by byte and in random splits")
    func splitIndependence() {
        let bytes = Array(Self.validResponses.utf8)
        let methods = ["GET", "POST", "GET", "GET", "HEAD", "GET", "GET"]
        let whole = parseResponses([bytes], methods: methods, finish: true)
        #expect(whole.responses.count == 7)
        #expect(parseResponses(bytes.map { [$0] }, methods: methods, finish: true) == whole)
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            #expect(parseResponses(random.split(bytes), methods: methods, finish: true) == whole, "seed \(seed)")
        }
    }

    @Test("Connection: close and HTTP/1.0 without keep-alive end the connection")
    func keepAlive() {
        let responses = parseResponses(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                + "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
                + "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
        ).responses
        #expect(responses.map(\.keepAlive) == [false, true, false])
    }

    @Test("a response cut short is truncated at finish; an idle connection finishes cleanly")
    func truncation() {
        #expect(parseResponses("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", finish: true).error == .truncated)
        #expect(parseResponses("HTTP/1.1 200 OK\r\nContent-Le", finish: true).error == .truncated)
        let idle = parseResponses("HTTP/1.1 204 No Content\r\n\r\n", finish: true)
        #expect(idle.error == nil)
        #expect(idle.responses.count == 1)
    }

    @Test(
        "malformed responses are refused with the broken rule",
        arguments: [
            (
                "HTTP/1.1 20 OK\r\n\r\n",
                HTTPResponseParseError.malformed("status line must be HTTP-version SP 3DIGIT SP reason")
            ),
            ("HTTP/2.0 200 OK\r\n\r\n", .malformed("HTTP version not supported")),
            ("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", .malformed("bare LF line ending; lines must end in CRLF")),
            ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .malformed("Content-Length is not a decimal number")),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding),
            ("HTTP/1.1 101 Switching Protocols\r\n\r\n", .malformed("unexpected 101 Switching Protocols")),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
                .malformed("chunk data is not followed by CRLF")
            ),
        ]
    )
    func malformed(text: String, error: HTTPResponseParseError) {
        #expect(parseResponses(text).error == error)
    }

    @Test("header and body limits are enforced however the bytes are split")
    func limits() {
        let limits = HTTPResponseParser.Limits(maxHeaderBytes: 64, maxBodyBytes: 8, maxHeaderCount: 2)
        let cases: [(String, HTTPResponseParseError)] = [
            ("HTTP/1.1 200 OK\r\nX-Long: \(String(repeating: "a", count: 80))\r\n\r\n", .headersTooLarge),
            ("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", .headersTooLarge),
            ("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", .bodyTooLarge),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\n", .bodyTooLarge),
            ("HTTP/1.1 200 OK\r\n\r\n0123456789", .bodyTooLarge),
        ]
        for (text, error) in cases {
            let bytes = Array(text.utf8)
            #expect(parseResponses([bytes], limits: limits).error == error, "\(text.debugDescription)")
            #expect(parseResponses(bytes.map { [$0] }, limits: limits).error == error, "\(text.debugDescription)")
        }
    }

    @Test("after an error the parser stays poisoned")
    func poisoned() {
        var parser = HTTPResponseParser()
        #expect(throws: HTTPResponseParseError.unsupportedTransferEncoding) {
            try parser.feed(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n".utf8))
        }
        #expect(parser.failure == .unsupportedTransferEncoding)
        #expect(throws: HTTPResponseParseError.unsupportedTransferEncoding) {
            try parser.feed(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))
        }
    }
}
