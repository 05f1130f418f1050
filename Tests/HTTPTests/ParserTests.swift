import HTTP
import Testing

/// Request parsing: fields, pipelining, split-independence, keep-alive and robustness.
@Suite("HTTPParser")
struct ParserTests {
    /// Well-formed requests, some pipelined, covering every framing.
    static let validRequests: [String] = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /search?q=raft&x=1 HTTP/1.0\r\n\r\n",
        "POST /kv/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "PUT /kv/y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX: y\r\n\r\n",
        "\r\n\r\nDELETE /kv/z HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nX-Empty:\r\nX-Tabs:\t spaced  value \t\r\n\r\n",
    ]

    @Test("a simple GET yields method, target, version and headers as sent")
    func simpleGet() throws {
        let outcome = parse("GET /kv/a?b=c HTTP/1.1\r\nHost: example\r\nX-Trace:  t1 \r\n\r\n")
        #expect(outcome.error == nil)
        let request = try #require(outcome.requests.first)
        #expect(request.method == "GET")
        #expect(request.target == "/kv/a?b=c")
        #expect(request.version == .http1_1)
        #expect(
            request.headers == [HTTPHeader(name: "Host", value: "example"), HTTPHeader(name: "X-Trace", value: "t1")]
        )
        #expect(request.body.isEmpty)
        #expect(!outcome.partial)
    }

    @Test("header lookup ignores case and keeps every duplicate in order")
    func headerLookup() throws {
        let outcome = parse("GET / HTTP/1.1\r\nX-Tag: one\r\nx-tag: two\r\nACCEPT: */*\r\n\r\n")
        let request = try #require(outcome.requests.first)
        #expect(request.header("accept") == "*/*")
        #expect(request.header("X-TAG") == "one")
        #expect(request.headers(named: "x-Tag") == ["one", "two"])
        #expect(request.header("Missing") == nil)
        #expect(request.headers[1].name == "x-tag")
    }

    @Test("a Content-Length body is returned exactly, and equal duplicates are accepted")
    func contentLengthBody() throws {
        let outcome = parse("POST /x HTTP/1.1\r\nContent-Length: 4\r\ncontent-length: 4\r\n\r\nab\r\nGET")
        let request = try #require(outcome.requests.first)
        #expect(request.body == Array("ab\r\n".utf8))
        #expect(outcome.requests.count == 1)
        #expect(outcome.partial)
    }

    @Test("chunked bodies accept extensions, either hex case and trailers, which are dropped")
    func chunkedBody() throws {
        let text =
            "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "1a; name=value;flag\r\nabcdefghijklmnopqrstuvwxyz\r\n2 ;x=\"q\"\r\n12\r\n0000\r\nTrailer-A: 1\r\nB: 2\r\n\r\n"
        let outcome = parse(text)
        #expect(outcome.error == nil)
        let request = try #require(outcome.requests.first)
        #expect(request.body == Array("abcdefghijklmnopqrstuvwxyz12".utf8))
        #expect(request.headers(named: "Trailer-A").isEmpty)
        #expect(!outcome.partial)
    }

    @Test("every valid request gives identical results whole, byte by byte and in random splits")
    func splitIndependence() {
        for text in Self.validRequests {
            let bytes = Array(text.utf8)
            #expect(parse([bytes]).error == nil, "\(text.debugDescription)")
            #expect(splitsAgree(bytes), "\(text.debugDescription)")
        }
        #expect(splitsAgree(Array(Self.validRequests.joined().utf8)))
    }

    @Test("pipelined requests are returned in the order sent")
    func pipelining() {
        let outcome = parse(Self.validRequests.joined())
        #expect(outcome.error == nil)
        #expect(
            outcome.requests.map(\.target) == [
                "/", "/search?q=raft&x=1", "/kv/x", "/kv/y", "/kv/z", "/a", "/b", "/c", "*",
            ]
        )
        #expect(outcome.requests.map(\.body.count) == [0, 0, 5, 13, 0, 0, 2, 0, 0])
    }

    @Test("hasPartialRequest tracks an unfinished request but not blank lines between requests")
    func partialRequest() throws {
        var parser = HTTPParser()
        #expect(!parser.hasPartialRequest)
        #expect(try parser.feed(Array("\r\n".utf8)).isEmpty)
        #expect(!parser.hasPartialRequest)
        #expect(try parser.feed(Array("G".utf8)).isEmpty)
        #expect(parser.hasPartialRequest)
        #expect(try parser.feed(Array("ET / HTTP/1.1\r\nContent-Length: 1\r\n\r\n".utf8)).isEmpty)
        #expect(parser.hasPartialRequest)
        #expect(try parser.feed([0x41]).count == 1)
        #expect(!parser.hasPartialRequest)
    }

    @Test(
        "keep-alive defaults by version and follows the Connection header",
        arguments: zip(
            [
                "HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n", "HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n",
                "HTTP/1.1\r\nConnection: keep-alive\r\n", "HTTP/1.0\r\n", "HTTP/1.0\r\nConnection: keep-alive\r\n",
                "HTTP/1.0\r\nconnection: upgrade,\tKeep-Alive\r\n", "HTTP/1.0\r\nConnection: close\r\n",
            ],
            [true, false, false, true, false, true, true, false]
        )
    )
    func keepAlive(versionAndHeaders: String, expected: Bool) throws {
        let outcome = parse("GET / \(versionAndHeaders)\r\n")
        let request = try #require(outcome.requests.first)
        #expect(request.keepAlive == expected)
    }

    @Test("an error after completed requests returns them and poisons the parser")
    func deferredError() throws {
        var parser = HTTPParser()
        let requests = try parser.feed(Array("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/2.0\r\n\r\n".utf8))
        #expect(requests.map(\.target) == ["/a"])
        #expect(parser.failure == .versionNotSupported)
        #expect(!parser.hasPartialRequest)
        #expect(throws: HTTPParseError.versionNotSupported) { try parser.feed(Array("GET / HTTP/1.1\r\n\r\n".utf8)) }
    }

    @Test("a poisoned parser throws the same error on every later feed")
    func poisoned() {
        var parser = HTTPParser()
        #expect(throws: HTTPParseError.malformed("method is not a token")) {
            try parser.feed(Array("G@T / HTTP/1.1\r\n".utf8))
        }
        #expect(throws: HTTPParseError.malformed("method is not a token")) { try parser.feed([]) }
        #expect(throws: HTTPParseError.malformed("method is not a token")) {
            try parser.feed(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        }
    }

    @Test("random garbage and mutated requests never crash: the parser throws or waits")
    func garbage() {
        let small = HTTPParser.Limits(maxHeaderBytes: 512, maxBodyBytes: 256, maxHeaderCount: 8)
        let alphabet = Array("GET /HTP1.0:;\r\n\t chunkedContent-Length0123456789abcdefTransfer-Encoding".utf8)
        for seed in UInt64(1)...300 {
            var random = SplitMix64(seed: seed)
            let length = Int.random(in: 0...600, using: &random)
            var bytes: [UInt8]
            switch seed % 3 {
            case 0:
                bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                bytes = (0..<length).map { _ in alphabet.randomElement(using: &random)! }
            default:
                bytes = Array(Self.validRequests.joined().utf8)
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = alphabet.randomElement(using: &random)!
                }
            }
            let whole = parse([bytes], limits: small)
            #expect(parse(random.split(bytes), limits: small) == whole, "seed \(seed)")
        }
    }
}
