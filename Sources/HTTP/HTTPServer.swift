import Glibc
import Synchronization

/// An HTTP/1.1 server: non-blocking sockets on one epoll loop, on one dedicated thread (never the cooperative
/// pool), calling `handler` on that thread for each request in the order they arrive on each connection.
package final class HTTPServer: Sendable {
    /// Everything fixed at construction.
    struct Configuration: Sendable {
        var host: String
        var port: UInt16
        var limits: HTTPParser.Limits
        var maxConnections: Int
        var headerTimeoutMilliseconds: Int
        var idleTimeoutMilliseconds: Int
    }

    /// The server's life: not yet started, serving, or stopped for good.
    enum State {
        case idle
        case running(thread: pthread_t, wakeup: Int32)
        case stopped
    }

    let configuration: Configuration
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let state = Mutex(State.idle)

    /// A server for `host:port` (port 0 picks an ephemeral port); nothing is opened until `start()`.
    package init(
        host: String = "127.0.0.1",
        port: UInt16,
        limits: HTTPParser.Limits,
        maxConnections: Int = 1024,
        headerTimeoutMilliseconds: Int = 10_000,
        idleTimeoutMilliseconds: Int = 60_000,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        precondition(maxConnections > 0, "HTTPServer: maxConnections must be positive, got \(maxConnections)")
        precondition(headerTimeoutMilliseconds > 0, "HTTPServer: headerTimeoutMilliseconds must be positive")
        precondition(idleTimeoutMilliseconds > 0, "HTTPServer: idleTimeoutMilliseconds must be positive")
        self.configuration = Configuration(
            host: host,
            port: port,
            limits: limits,
            maxConnections: maxConnections,
            headerTimeoutMilliseconds: headerTimeoutMilliseconds,
            idleTimeoutMilliseconds: idleTimeoutMilliseconds
        )
        self.handler = handler
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
            let loop = EventLoop(
                epoll: epoll,
                listener: listener,
                wakeup: wakeup,
                configuration: configuration,
                handler: handler
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
                for descriptor in [listener, epoll, wakeup] {
                    closeDescriptor(descriptor)
                }
                throw PosixError(created, "pthread_create")
            }
            state = .running(thread: thread, wakeup: wakeup)
            return port
        }
    }

    /// Closes the listener and every connection and joins the loop thread. Idempotent; a server never started
    /// just becomes stopped. Must not be called from the handler (the loop thread would join itself).
    package func stop() {
        let previous = state.withLock { state in
            defer { state = .stopped }
            return state
        }
        guard case .running(let thread, let wakeup) = previous else {
            return
        }
        precondition(pthread_equal(thread, pthread_self()) == 0, "HTTPServer.stop() called from its own handler")
        var one: UInt64 = 1
        _ = try? syscall("write(eventfd)") { write(wakeup, &one, MemoryLayout<UInt64>.size) }
        pthread_join(thread, nil)
        closeDescriptor(wakeup)
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
