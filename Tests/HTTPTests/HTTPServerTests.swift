import Glibc
import HTTP
import Testing

/// A blocking loopback client with a receive timeout, so no test can hang.
final class LoopbackClient {
    /// A response as the client saw it.
    struct Response {
        var status: Int
        var head: String
        var body: String
    }

    let descriptor: Int32
    var buffer: [UInt8] = []

    init(port: UInt16) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(descriptor >= 0, "socket failed: errno \(errno)")
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(result == 0, "connect failed: errno \(errno)")
    }

    deinit {
        close(descriptor)
    }

    /// Sends all of `text`, or stops at the first error (the server may have closed).
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        for _ in 0..<10_000 where offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else {
                return
            }
            offset += sent
        }
    }

    /// Reads more bytes into `buffer`; false on EOF, error or timeout.
    func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else {
            return false
        }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// The next Content-Length-framed response, or nil if the connection ended or timed out first.
    func readResponse() -> Response? {
        for _ in 0..<1000 {
            if let response = takeResponse() {
                return response
            }
            guard fill() else {
                return takeResponse()
            }
        }
        return nil
    }

    /// Removes one complete response from `buffer`, if there is one.
    func takeResponse() -> Response? {
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        guard buffer.count >= 4,
            let end = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<$0 + 4]) == terminator })
        else {
            return nil
        }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingPrefix(" ")) ?? 0
        }
        guard buffer.count >= end + 4 + length else {
            return nil
        }
        let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        buffer.removeSubrange(0..<(end + 4 + length))
        let status = Int(head.split(separator: " ")[1]) ?? 0
        return Response(status: status, head: head, body: body)
    }

    /// Whether the server closed the connection (EOF) with no further bytes, within the receive timeout.
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }
}

/// A server on an ephemeral loopback port answering `GET <path>` with the path and echoing POST bodies.
func startServer(
    limits: HTTPParser.Limits = HTTPParser.Limits(),
    maxConnections: Int = 1024,
    headerTimeoutMilliseconds: Int = 10_000
) throws -> (HTTPServer, UInt16) {
    let server = HTTPServer(
        port: 0,
        limits: limits,
        maxConnections: maxConnections,
        headerTimeoutMilliseconds: headerTimeoutMilliseconds
    ) { request in
        let body = request.method == "POST" ? request.body : Array(request.target.utf8)
        return HTTPResponse(status: 200, body: body)
    }
    let port = try server.start()
    return (server, port)
}

@Suite("HTTPServer over loopback")
struct HTTPServerTests {
    @Test("a GET is answered")
    func get() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 200)
        #expect(response.body == "/hello")
    }

    @Test("keep-alive: three requests on one connection")
    func keepAlive() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        for index in 0..<3 {
            client.send("GET /\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try #require(client.readResponse())
            #expect(response.status == 200)
            #expect(response.body == "/\(index)")
        }
    }

    @Test("pipelined requests in one write are answered in order")
    func pipelined() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send((0..<3).map { "GET /\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        for index in 0..<3 {
            let response = try #require(client.readResponse())
            #expect(response.body == "/\(index)")
        }
    }

    @Test("a chunked request body is echoed")
    func chunked() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send(
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        let response = try #require(client.readResponse())
        #expect(response.status == 200)
        #expect(response.body == "hello world")
    }

    @Test(
        "parse errors get a JSON body and the connection is closed",
        arguments: [
            (
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20 * 1024))\r\n\r\n", 431,
                "request header fields too large"
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n\(String(repeating: "b", count: 2048))", 413,
                "request body too large"
            ),
            ("\u{1}\u{2}garbage\r\n\r\n", 400, ""),
        ]
    )
    func parseErrors(request: String, status: Int, message: String) throws {
        let (server, port) = try startServer(limits: HTTPParser.Limits(maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024))
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send(request)
        let response = try #require(client.readResponse())
        #expect(response.status == status)
        #expect(response.head.contains("Connection: close"))
        #expect(response.body.hasPrefix("{\"error\":{\"code\":\"\(status)\",\"message\":\"\(message)"))
        #expect(response.body.hasSuffix("\"}}"))
        #expect(client.isClosedByPeer())
    }

    @Test("an incomplete head past the header timeout gets 408 and is closed")
    func headerTimeout() throws {
        let (server, port) = try startServer(headerTimeoutMilliseconds: 200)
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send("GET / HTTP/1.1\r\nHost:")
        let response = try #require(client.readResponse())
        #expect(response.status == 408)
        #expect(response.body.hasPrefix("{\"error\":{\"code\":\"408\""))
        #expect(client.isClosedByPeer())
    }

    @Test("beyond the connection cap a new connection gets 503")
    func connectionCap() throws {
        let (server, port) = try startServer(maxConnections: 2)
        defer { server.stop() }
        let first = LoopbackClient(port: port)
        let second = LoopbackClient(port: port)
        for client in [first, second] {
            client.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(client.readResponse()?.status == 200)
        }
        let third = LoopbackClient(port: port)
        let response = try #require(third.readResponse())
        #expect(response.status == 503)
        #expect(response.body.hasPrefix("{\"error\":{\"code\":\"503\""))
        #expect(third.isClosedByPeer())
    }

    @Test("stop() closes open connections and returns")
    func stopClosesConnections() throws {
        let (server, port) = try startServer()
        let client = LoopbackClient(port: port)
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.readResponse()?.status == 200)
        server.stop()
        #expect(client.isClosedByPeer())
        server.stop()
    }
}
