import HTTP
import Testing

/// Response serialization and chunked framing.
@Suite("HTTPResponse")
struct ResponseTests {
    @Test("a keep-alive response has a status line, headers, Content-Length and the body")
    func keepAliveResponse() {
        let response = HTTPResponse(
            status: 200,
            headers: [HTTPHeader(name: "Content-Type", value: "text/plain")],
            body: Array("hi".utf8)
        )
        let text = String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")
    }

    @Test("a closing response says Connection: close and the serializer owns the framing headers")
    func closingResponse() {
        let response = HTTPResponse(
            status: 404,
            headers: [
                HTTPHeader(name: "content-length", value: "99"), HTTPHeader(name: "Connection", value: "keep-alive"),
                HTTPHeader(name: "Transfer-Encoding", value: "chunked"),
            ],
            body: []
        )
        let text = String(decoding: response.serialized(keepAlive: false), as: UTF8.self)
        #expect(text == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test("204 and 1xx responses carry no Content-Length and no body")
    func bodyless() {
        let text = String(decoding: HTTPResponse(status: 204, body: [1]).serialized(keepAlive: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test("reason phrases cover the parser's error statuses and fall back by class")
    func reasonPhrases() {
        #expect(HTTPResponse.reasonPhrase(for: 431) == "Request Header Fields Too Large")
        #expect(HTTPResponse.reasonPhrase(for: 413) == "Content Too Large")
        #expect(HTTPResponse.reasonPhrase(for: 501) == "Not Implemented")
        #expect(HTTPResponse.reasonPhrase(for: 505) == "HTTP Version Not Supported")
        #expect(HTTPResponse.reasonPhrase(for: 400) == "Bad Request")
        #expect(HTTPResponse.reasonPhrase(for: 499) == "Client Error")
        #expect(HTTPResponse.reasonPhrase(for: 599) == "Server Error")
    }

    @Test("chunked frames are hex-sized, empty input writes nothing, and the parser reads them back")
    func chunkedFrames() throws {
        #expect(chunkedFrame(Array("hello, world!!!!!".utf8)) == Array("11\r\nhello, world!!!!!\r\n".utf8))
        #expect(chunkedFrame([]).isEmpty)
        #expect(lastChunk == Array("0\r\n\r\n".utf8))
        let head = HTTPResponse(status: 200).serializedChunkedHead(keepAlive: true)
        #expect(String(decoding: head, as: UTF8.self) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")

        var random = SplitMix64(seed: 7)
        let body = (0..<3000).map { _ in UInt8.random(in: 0...255, using: &random) }
        var wire = Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for piece in random.split(body) {
            wire += chunkedFrame(piece)
        }
        wire += lastChunk
        let outcome = parse([wire])
        #expect(outcome.error == nil)
        #expect(try #require(outcome.requests.first).body == body)
        #expect(splitsAgree(wire))
    }
}
