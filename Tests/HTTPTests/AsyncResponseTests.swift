import Dispatch
import Glibc
import HTTP
import Synchronization
import Testing

/// Requests a `respondLater` server was handed, with their responders, for a test to answer when it likes.
final class HeldRequests: Sendable {
    /// One request and the responder that answers it.
    struct Held: Sendable {
        var request: HTTPRequest
        var responder: HTTPResponder
    }

    /// Everything handed over so far, in order.
    let items = Mutex<[Held]>([])

    /// How many requests have been handed over so far.
    var count: Int { items.withLock { $0.count } }

    /// Records a request handed to the server's `respondLater`.
    func add(_ request: HTTPRequest, _ responder: HTTPResponder) {
        items.withLock { $0.append(Held(request: request, responder: responder)) }
    }

    /// Waits up to `milliseconds` until at least `count` requests are held; returns every held request.
    func wait(for count: Int, milliseconds: Int = 3000) -> [Held] {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(milliseconds)
        while clock.now < deadline {
            let held = items.withLock { $0 }
            if held.count >= count {
                return held
            }
            usleep(2000)
        }
        return items.withLock { $0 }
    }
}

/// A `respondLater` server on an ephemeral loopback port: targets starting with `/now` are answered at once with
/// the target as body; every other request is held for the test to answer.
func startAsyncServer(
    maxPending: Int = 64,
    headerTimeoutMilliseconds: Int = 10_000,
    idleTimeoutMilliseconds: Int = 60_000
) throws -> (HTTPServer, UInt16, HeldRequests) {
    let held = HeldRequests()
    let server = HTTPServer(
        port: 0,
        limits: HTTPParser.Limits(),
        headerTimeoutMilliseconds: headerTimeoutMilliseconds,
        idleTimeoutMilliseconds: idleTimeoutMilliseconds,
        maxPendingPerConnection: maxPending,
        respondLater: { request, responder in
            if request.target.hasPrefix("/now") {
                responder.respond(HTTPResponse(status: 200, body: Array(request.target.utf8)))
            } else {
                held.add(request, responder)
            }
        }
    )
    let port = try server.start()
    return (server, port, held)
}

/// The response that echoes `text` as its body.
func textResponse(_ text: String) -> HTTPResponse {
    HTTPResponse(status: 200, body: Array(text.utf8))
}

@Suite("HTTPServer asynchronous responses")
struct AsyncResponseTests {
    @Test("responses completed on another thread in reverse order go out in request order")
    func reverseCompletion() throws {
        let (server, port, held) = try startAsyncServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send((0..<5).map { "GET /r\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        let requests = held.wait(for: 5)
        try #require(requests.count == 5)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for item in requests.reversed() {
                item.responder.respond(textResponse(item.request.target))
                usleep(10_000)
            }
            done.signal()
        }
        for index in 0..<5 {
            let response = try #require(client.readResponse())
            #expect(response.body == "/r\(index)")
        }
        #expect(done.wait(timeout: .now() + 3) == .success)
    }

    @Test("a responder called twice sends one response")
    func respondTwice() throws {
        let (server, port, held) = try startAsyncServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send("GET /once HTTP/1.1\r\nHost: x\r\n\r\n")
        let item = try #require(held.wait(for: 1).first)
        item.responder.respond(textResponse("first"))
        item.responder.respond(textResponse("second"))
        #expect(client.readResponse()?.body == "first")
        client.send("GET /now/next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.readResponse()?.body == "/now/next")
    }

    @Test("a responder called after its client closed does nothing and the server keeps serving")
    func respondAfterClose() throws {
        // After the client's EOF the idle timeout applies again, so the server closes the old connection soon.
        let (server, port, held) = try startAsyncServer(idleTimeoutMilliseconds: 300)
        defer { server.stop() }
        do {
            let gone = LoopbackClient(port: port)
            gone.send("GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
            try #require(held.wait(for: 1).count == 1)
        }
        usleep(700_000)
        // The new connection probably reuses the old descriptor number; the old response must not reach it.
        let client = LoopbackClient(port: port)
        client.send("GET /kept HTTP/1.1\r\nHost: x\r\n\r\n")
        let requests = held.wait(for: 2)
        try #require(requests.count == 2)
        requests[0].responder.respond(textResponse("for the closed client"))
        requests[1].responder.respond(textResponse("kept"))
        #expect(client.readResponse()?.body == "kept")
        client.send("GET /now/after HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.readResponse()?.body == "/now/after")
    }

    @Test("a long-pending request is not closed by a short idle timeout, which applies again once it is answered")
    func pendingOutlivesIdleTimeout() throws {
        let (server, port, held) = try startAsyncServer(idleTimeoutMilliseconds: 100)
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        let item = try #require(held.wait(for: 1).first)
        usleep(500_000)
        item.responder.respond(textResponse("late"))
        let response = try #require(client.readResponse())
        #expect(response.status == 200)
        #expect(response.body == "late")
        #expect(client.isClosedByPeer())
    }

    @Test("the header timeout still applies to a partial request queued behind a pending one")
    func headerTimeoutWhilePending() throws {
        let (server, port, held) = try startAsyncServer(headerTimeoutMilliseconds: 200, idleTimeoutMilliseconds: 100)
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHo")
        let item = try #require(held.wait(for: 1).first)
        usleep(500_000)
        item.responder.respond(textResponse("late"))
        #expect(client.readResponse()?.body == "late")
        let timeout = try #require(client.readResponse())
        #expect(timeout.status == 408)
        #expect(client.isClosedByPeer())
        #expect(held.count == 1)
    }

    @Test("at the pending cap the connection is not read until responses go out, then it resumes")
    func pendingCap() throws {
        let (server, port, held) = try startAsyncServer(maxPending: 2)
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        for index in 0..<5 {
            client.send("GET /p\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
            usleep(10_000)
        }
        var answered = 0
        for expected in [2, 4, 5] {
            let requests = held.wait(for: expected)
            try #require(requests.count == expected)
            usleep(100_000)
            #expect(held.count == expected, "no request beyond the cap is handed out")
            for item in requests[answered...] {
                item.responder.respond(textResponse(item.request.target))
            }
            for index in answered..<expected {
                #expect(client.readResponse()?.body == "/p\(index)")
            }
            answered = expected
        }
    }

    @Test("a pipelined burst far beyond the pending cap is answered in order by a synchronous handler")
    func burstBeyondCap() throws {
        let (server, port) = try startServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send((0..<300).map { "GET /b\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        for index in 0..<300 {
            let response = try #require(client.readResponse())
            #expect(response.body == "/b\(index)")
        }
    }

    @Test("Connection: close on a held request closes after its response and ignores what follows")
    func closeAfterHeldResponse() throws {
        let (server, port, held) = try startAsyncServer()
        defer { server.stop() }
        let client = LoopbackClient(port: port)
        client.send("GET /last HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n")
        let item = try #require(held.wait(for: 1).first)
        usleep(50_000)
        #expect(held.count == 1)
        item.responder.respond(textResponse("bye"))
        let response = try #require(client.readResponse())
        #expect(response.body == "bye")
        #expect(response.head.contains("Connection: close"))
        #expect(client.isClosedByPeer())
    }

    @Test("stop() with requests pending returns promptly and their responders become no-ops")
    func stopWithPending() throws {
        let (server, port, held) = try startAsyncServer()
        let client = LoopbackClient(port: port)
        client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        let requests = held.wait(for: 2)
        try #require(requests.count == 2)
        let clock = ContinuousClock()
        let started = clock.now
        server.stop()
        #expect(clock.now - started < .seconds(1))
        #expect(client.isClosedByPeer())
        for item in requests {
            item.responder.respond(textResponse("too late"))
        }
    }
}
