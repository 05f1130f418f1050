import Glibc
import Synchronization

/// An HTTP/1.1 server: non-blocking sockets on one epoll loop, on one dedicated thread (never the cooperative
/// pool).
///
/// Each request is handed, on that thread and in arrival order per connection, to `respondLater` together with an
/// `HTTPResponder`, which any thread may complete later; responses still go out in request order (pipelining).
/// The synchronous `handler:` initializer answers every request at once on the loop thread.
package final class HTTPServer: Sendable {
    /// Everything fixed at construction.
    struct Configuration: Sendable {
        var host: String
        var port: UInt16
        var limits: HTTPParser.Limits
        var maxConnections: Int
        var headerTimeoutMilliseconds: Int
        var idleTimeoutMilliseconds: Int
        /// Requests per connection handed out and not yet answered before the connection stops being read.
        var maxPendingPerConnection: Int
    }

    /// The server's life: not yet started, serving, or stopped for good.
    enum State {
        case idle
        case running(thread: pthread_t, mailbox: Mailbox)
        case stopped
    }

    /// Everything fixed at construction.
    let configuration: Configuration
    /// The application, called on the loop thread for each request.
    let respondLater: @Sendable (HTTPRequest, HTTPResponder) -> Void
    /// Where the server is in its life.
    let state = Mutex(State.idle)

    /// A server for `host:port` (port 0 picks an ephemeral port) that hands each request to `respondLater` with a
    /// responder to call exactly once, from any thread, now or later; nothing is opened until `start()`.
    ///
    /// `respondLater` runs on the loop thread and must not block. A connection with `maxPendingPerConnection`
    /// requests unanswered is not read until some are answered. While a connection waits only for responses, the
    /// idle timeout does not close it; the header timeout still bounds a next request it is partly receiving.
    package init(
        host: String = "127.0.0.1",
        port: UInt16,
        limits: HTTPParser.Limits,
        maxConnections: Int = 1024,
        headerTimeoutMilliseconds: Int = 10_000,
        idleTimeoutMilliseconds: Int = 60_000,
        maxPendingPerConnection: Int = 64,
        respondLater: @escaping @Sendable (HTTPRequest, HTTPResponder) -> Void
    ) {
        precondition(maxConnections > 0, "HTTPServer: maxConnections must be positive, got \(maxConnections)")
        precondition(headerTimeoutMilliseconds > 0, "HTTPServer: headerTimeoutMilliseconds must be positive")
        precondition(idleTimeoutMilliseconds > 0, "HTTPServer: idleTimeoutMilliseconds must be positive")
        precondition(
            maxPendingPerConnection > 0,
            "HTTPServer: maxPendingPerConnection must be positive, got \(maxPendingPerConnection)"
        )
        self.configuration = Configuration(
            host: host,
            port: port,
            limits: limits,
            maxConnections: maxConnections,
            headerTimeoutMilliseconds: headerTimeoutMilliseconds,
            idleTimeoutMilliseconds: idleTimeoutMilliseconds,
            maxPendingPerConnection: maxPendingPerConnection
        )
        self.respondLater = respondLater
    }

    /// A server for `host:port` (port 0 picks an ephemeral port) that answers each request with `handler`, called
    /// on the loop thread; nothing is opened until `start()`.
    package convenience init(
        host: String = "127.0.0.1",
        port: UInt16,
        limits: HTTPParser.Limits,
        maxConnections: Int = 1024,
        headerTimeoutMilliseconds: Int = 10_000,
        idleTimeoutMilliseconds: Int = 60_000,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        self.init(
            host: host,
            port: port,
            limits: limits,
            maxConnections: maxConnections,
            headerTimeoutMilliseconds: headerTimeoutMilliseconds,
            idleTimeoutMilliseconds: idleTimeoutMilliseconds,
            respondLater: { request, responder in responder.respond(handler(request)) }
        )
    }

    deinit {
        stop()
    }

    /// Binds, listens and starts the event-loop thread; returns the bound port. Call once.
    package func start() throws(PosixError) -> UInt16 {
        try state.withLock { (state: inout State) throws(PosixError) -> UInt16 in
            guard case .idle = state else {
                preconditionFailure("HTTPServer.start() called twice or after stop()")
            }
            let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)
            var epoll: Int32 = -1
            var wakeup: Int32 = -1
            do throws(PosixError) {
                epoll = try Epoll.create()
                wakeup = try Epoll.eventFD()
                try Epoll.control(epoll, Epoll.add, listener, events: Epoll.readable)
                try Epoll.control(epoll, Epoll.add, wakeup, events: Epoll.readable)
            } catch {
                for descriptor in [listener, epoll, wakeup] where descriptor >= 0 {
                    closeDescriptor(descriptor)
                }
                throw error
            }
            let mailbox = Mailbox(wakeup: wakeup)
            let loop = EventLoop(
                epoll: epoll,
                listener: listener,
                mailbox: mailbox,
                configuration: configuration,
                respondLater: respondLater
            )
            // The loop is not Sendable: it is handed over, retained, through the raw pointer and from then on
            // touched only by the new thread.
            let context = Unmanaged.passRetained(loop).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(
                &thread,
                nil,
                { raw in
                    let loop = Unmanaged<EventLoop>.fromOpaque(raw!).takeRetainedValue()
                    loop.run()
                    return nil
                },
                context
            )
            guard created == 0 else {
                Unmanaged<EventLoop>.fromOpaque(context).release()
                for descriptor in [listener, epoll] {
                    closeDescriptor(descriptor)
                }
                mailbox.close()
                throw PosixError(created, "pthread_create")
            }
            state = .running(thread: thread, mailbox: mailbox)
            return port
        }
    }

    /// Closes the listener and every connection and joins the loop thread, without waiting for pending responses
    /// (their responders become no-ops). Idempotent; a server never started just becomes stopped. Must not be
    /// called from the handler (the loop thread would join itself).
    package func stop() {
        let previous = state.withLock { state in
            defer { state = .stopped }
            return state
        }
        guard case .running(let thread, let mailbox) = previous else {
            return
        }
        precondition(pthread_equal(thread, pthread_self()) == 0, "HTTPServer.stop() called from its own handler")
        mailbox.stop()
        pthread_join(thread, nil)
        mailbox.close()
    }

    /// The JSON error response `{"error":{"code":"<status>","message":"<message>"}}` the server sends before closing.
    static func errorResponse(status: Int, message: String) -> HTTPResponse {
        let body = "{\"error\":{\"code\":\"\(status)\",\"message\":\"\(jsonEscaped(message))\"}}"
        return HTTPResponse(
            status: status,
            headers: [HTTPHeader(name: "Content-Type", value: "application/json")],
            body: Array(body.utf8)
        )
    }

    /// `text` escaped for a JSON string literal.
    static func jsonEscaped(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
