import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

/// A raw loopback server that plays a script, one connection after another, for behaviour `HTTPServer` never
/// shows (chunked responses, closing without an answer). Every socket has a receive timeout, so nothing hangs.
final class ScriptedServer: Sendable {
    /// One step on a connection.
    enum Step: Sendable {
        /// Read until one request head (and no body) has arrived.
        case readRequest
        /// Write these bytes.
        case write(String)
        /// Close the connection.
        case close
    }

    /// The listening socket.
    let listener: Int32
    /// The port it listens on.
    let port: UInt16
    /// Signalled once every script has been played (or accepting failed).
    let finished = DispatchSemaphore(value: 0)
    /// How many request heads were read, across connections.
    let requestsRead = Atomic<Int>(0)

    /// Starts serving `connections`, each a script, in order.
    init(connections: [[Step]]) {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = listener
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                precondition(bind(listener, $0, length) == 0, "bind failed: errno \(errno)")
                precondition(Glibc.listen(listener, 8) == 0, "listen failed: errno \(errno)")
                precondition(getsockname(listener, $0, &length) == 0, "getsockname failed: errno \(errno)")
            }
        }
        port = UInt16(bigEndian: address.sin_port)
        DispatchQueue.global().async { [self] in
            for script in connections {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else {
                    break
                }
                var timeout = timeval(tv_sec: 3, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                play(script, on: connection)
            }
            finished.signal()
        }
    }

    deinit {
        close(listener)
    }

    /// Runs `script` on `connection`, closing it at the end if the script did not.
    func play(_ script: [Step], on connection: Int32) {
        var received: [UInt8] = []
        var open = true
        for step in script where open {
            switch step {
            case .readRequest:
                let terminator = Array("\r\n\r\n".utf8)
                while received.firstRange(of: terminator) == nil {
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else {
                        open = false
                        break
                    }
                    received += chunk[0..<count]
                }
                if let end = received.firstRange(of: terminator)?.upperBound {
                    received.removeSubrange(0..<end)
                    requestsRead.add(1, ordering: .relaxed)
                }
            case .write(let text):
                let bytes = Array(text.utf8)
                _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            case .close:
                close(connection)
                open = false
            }
        }
        if open {
            close(connection)
        }
    }

    /// Waits (bounded) until every scripted connection has been played.
    func waitUntilFinished() -> Bool {
        finished.wait(timeout: .now() + 5) == .success
    }
}

/// A port nothing listens on: one a server just bound and then released.
func closedPort() throws -> UInt16 {
    let (server, port) = try startServer()
    server.stop()
    return port
}

@Suite("HTTPClient")
struct HTTPClientTests {
    @Test("a POST round trip carries the body both ways")
    func roundTrip() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = HTTPClient(host: "127.0.0.1", port: port, timeoutMilliseconds: 3000)
        defer { client.close() }
        let response = try client.send(
            method: "POST",
            target: "/echo",
            headers: [HTTPHeader(name: "Content-Type", value: "text/plain")],
            body: Array("hello, server".utf8)
        )
        #expect(response.status == 200)
        #expect(response.bodyText == "hello, server")
        #expect(response.header("content-length") == "13")
    }

    @Test("two requests reuse one keep-alive connection")
    func keepAliveReuse() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = try HTTPClient(address: "localhost:\(port)", timeoutMilliseconds: 3000)
        defer { client.close() }
        #expect(try client.send(method: "GET", target: "/one").bodyText == "/one")
        #expect(try client.send(method: "GET", target: "/two").bodyText == "/two")
        #expect(client.connectionCount == 1)
    }

    @Test("after the server closes an idle connection the next request reconnects")
    func reconnectAfterIdleClose() throws {
        let server = HTTPServer(port: 0, limits: HTTPParser.Limits(), idleTimeoutMilliseconds: 100) { request in
            HTTPResponse(status: 200, body: Array(request.target.utf8))
        }
        let port = try server.start()
        defer { server.stop() }
        let client = HTTPClient(host: "127.0.0.1", port: port, timeoutMilliseconds: 3000)
        defer { client.close() }
        #expect(try client.send(method: "GET", target: "/before").bodyText == "/before")
        usleep(400_000)
        #expect(try client.send(method: "GET", target: "/after").bodyText == "/after")
        #expect(client.connectionCount == 2)
    }

    @Test("a reused connection the server closes after reading the request is retried once on a new one")
    func retryOnStaleConnection() throws {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        let server = ScriptedServer(connections: [
            [.readRequest, .write(ok + "first"), .readRequest, .close],
            [.readRequest, .write(ok + "again")],
        ])
        let client = HTTPClient(host: "127.0.0.1", port: server.port, timeoutMilliseconds: 3000)
        defer { client.close() }
        #expect(try client.send(method: "GET", target: "/a").bodyText == "first")
        #expect(try client.send(method: "GET", target: "/b").bodyText == "again")
        #expect(client.connectionCount == 2)
        #expect(server.waitUntilFinished())
        #expect(server.requestsRead.load(ordering: .relaxed) == 3)
    }

    @Test("a fresh connection closed before any response is not retried")
    func noRetryOnFreshConnection() throws {
        let server = ScriptedServer(connections: [[.readRequest, .close]])
        let client = HTTPClient(host: "127.0.0.1", port: server.port, timeoutMilliseconds: 3000)
        #expect(throws: HTTPClientError.connectionClosed) {
            try client.send(method: "POST", target: "/once", body: [1, 2, 3])
        }
        #expect(client.connectionCount == 1)
        #expect(server.waitUntilFinished())
    }

    @Test("a chunked response is reassembled, and a close-delimited one read to EOF")
    func chunkedAndCloseDelimited() throws {
        let server = ScriptedServer(connections: [
            [
                .readRequest,
                .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
                .write("7;ext=1\r\n, world\r\n0\r\n\r\n"),
                .readRequest,
                .write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end"),
                .close,
            ]
        ])
        let client = HTTPClient(host: "127.0.0.1", port: server.port, timeoutMilliseconds: 3000)
        defer { client.close() }
        let chunked = try client.send(method: "GET", target: "/chunked")
        #expect(chunked.bodyText == "hello, world")
        let delimited = try client.send(method: "GET", target: "/close")
        #expect(delimited.bodyText == "to the end")
        #expect(!delimited.keepAlive)
        #expect(client.connectionCount == 1)
        #expect(server.waitUntilFinished())
    }

    @Test("a server that never answers times out within the client's timeout")
    func timeout() throws {
        let server = HTTPServer(port: 0, limits: HTTPParser.Limits(), respondLater: { _, _ in })
        let port = try server.start()
        defer { server.stop() }
        let client = HTTPClient(host: "127.0.0.1", port: port, timeoutMilliseconds: 300)
        defer { client.close() }
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: HTTPClientError.timedOut) {
            try client.send(method: "GET", target: "/never")
        }
        let elapsed = clock.now - started
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(2))
    }

    @Test("a refused connection names the address and the reason")
    func connectRefused() throws {
        let port = try closedPort()
        let client = HTTPClient(host: "127.0.0.1", port: port, timeoutMilliseconds: 1000)
        do {
            _ = try client.send(method: "GET", target: "/")
            Issue.record("expected the connection to be refused")
        } catch {
            #expect(error == .connectFailed("127.0.0.1:\(port): connection refused"))
            #expect(error.description == "cannot connect to 127.0.0.1:\(port): connection refused")
        }
    }

    @Test(
        "addresses must be host:port with an IPv4 literal or localhost",
        arguments: [
            "", "127.0.0.1", "127.0.0.1:", ":80", "example.com:80", "127.0.0.1:0", "127.0.0.1:65536", "1.2.3:80",
        ]
    )
    func invalidAddress(address: String) {
        #expect(throws: HTTPClientError.invalidAddress(address)) {
            try HTTPClient(address: address)
        }
    }

    @Test("valid addresses parse")
    func validAddress() throws {
        let client = try HTTPClient(address: "localhost:8001")
        #expect(client.host == "localhost")
        #expect(client.port == 8001)
        #expect(try HTTPClient(address: "10.0.0.5:65535").port == 65535)
    }
}
