import HTTP
import Testing

/// Every limit and every error status, including the request-smuggling cases.
@Suite("HTTPParser limits and errors")
struct LimitAndErrorTests {
    @Test("each error maps to its status and a readable reason")
    func statuses() {
        let errors: [HTTPParseError] = [
            .headersTooLarge, .bodyTooLarge, .malformed("x"), .unsupportedTransferEncoding, .versionNotSupported,
        ]
        #expect(errors.map(\.status) == [431, 413, 400, 501, 505])
        #expect(HTTPParseError.malformed("bad thing").reason.contains("bad thing"))
        #expect(Set(errors.map(\.reason)).count == errors.count)
    }

    @Test("a head of exactly maxHeaderBytes is accepted and one byte more is a 431")
    func headerBytesBoundary() {
        let limits = HTTPParser.Limits(maxHeaderBytes: 64)
        let prefix = "GET / HTTP/1.1\r\nX: "
        let fill = String(repeating: "a", count: 64 - prefix.utf8.count - 4)
        #expect(parse(prefix + fill + "\r\n\r\n", limits: limits).requests.count == 1)
        #expect(parseError(prefix + fill + "a\r\n\r\n", limits: limits) == .headersTooLarge)
    }

    @Test("an unterminated head is a 431 as soon as it exceeds the limit, before any CRLF arrives")
    func headerBytesEarly() {
        let limits = HTTPParser.Limits(maxHeaderBytes: 100)
        let outcome = parse("GET /" + String(repeating: "a", count: 200), limits: limits)
        #expect(outcome.error == .headersTooLarge)
        let slow = parse(
            [Array("GET / HTTP/1.1\r\n".utf8)] + Array(repeating: Array("X: y\r\n".utf8), count: 20),
            limits: limits
        )
        #expect(slow.error == .headersTooLarge)
        #expect(parseError("GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 14), limits: limits) == nil)
    }

    @Test("more than maxHeaderCount header lines is a 431")
    func headerCount() {
        let limits = HTTPParser.Limits(maxHeaderCount: 3)
        #expect(parseError("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits) == nil)
        #expect(parseError("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", limits: limits) == .headersTooLarge)
    }

    @Test("a trailer section larger than maxHeaderBytes is a 431")
    func trailerBytes() {
        let limits = HTTPParser.Limits(maxHeaderBytes: 64)
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + String(repeating: "t", count: 80)
        #expect(parseError(text, limits: limits) == .headersTooLarge)
    }

    @Test("a declared Content-Length over the limit is a 413 before any body arrives")
    func contentLengthTooLarge() {
        let limits = HTTPParser.Limits(maxBodyBytes: 10)
        #expect(parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).requests.count == 1)
        #expect(parseError("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits: limits) == .bodyTooLarge)
        let huge = "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999999\r\n\r\n"
        #expect(parseError(huge) == .bodyTooLarge)
    }

    @Test("chunk sizes summing past the limit are a 413 at the chunk-size line that crosses it")
    func chunkedTooLarge() {
        let limits = HTTPParser.Limits(maxBodyBytes: 10)
        let head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(parse(head + "5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n", limits: limits).requests.count == 1)
        #expect(parseError(head + "5\r\nabcde\r\n6\r\n", limits: limits) == .bodyTooLarge)
        #expect(parseError(head + "FFFFFFFFFFFFFFFFFFFFFFFF\r\n", limits: limits) == .bodyTooLarge)
    }

    @Test(
        "malformed requests are a 400",
        arguments: [
            "GET / HTTP/1.1\nHost: a\n\n",
            "GET / HTTP/1.1\r\nHost: a\n\r\n",
            "GET / HTTP/1.1\rHost: a\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1 \r\n\r\n",
            "GET /\u{01} HTTP/1.1\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET / http/1.1\r\n\r\n",
            "GET / HTTP/1.10\r\n\r\n",
            "GET / HTTP/1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\n\tX: a\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
            "GET / HTTP/1.1\r\nX-Bad: a\u{00}b\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 junk\r\nabc\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
        ]
    )
    func malformed(text: String) {
        #expect(parseError(text)?.status == 400)
        #expect(splitsAgree(Array(text.utf8)))
    }

    @Test(
        "smuggling framings are refused with a 400",
        arguments: [
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\n Transfer-Encoding: chunked\r\n\r\nabc",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
        ]
    )
    func smuggling(text: String) {
        #expect(parseError(text)?.status == 400)
    }

    @Test(
        "transfer codings other than a single chunked are a 501",
        arguments: [
            "gzip", "gzip, chunked", "chunked, gzip", "identity", "chunked, chunked", "x-custom",
        ]
    )
    func unsupportedTransferEncoding(coding: String) {
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: \(coding)\r\n\r\n"
        #expect(parseError(text) == .unsupportedTransferEncoding)
    }

    @Test("Transfer-Encoding split over two fields is read as one list")
    func transferEncodingList() {
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(parseError(text) == .unsupportedTransferEncoding)
    }

    @Test("versions other than HTTP/1.0 and HTTP/1.1 are a 505", arguments: ["2.0", "0.9", "1.2", "3.1", "9.9"])
    func unsupportedVersion(version: String) {
        #expect(parseError("GET / HTTP/\(version)\r\n\r\n") == .versionNotSupported)
    }
}
