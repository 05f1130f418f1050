import Glibc

/// Why an `HTTPClient` request failed; each message says what went wrong where, so a user can act on it.
package enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The address is not `host:port` with an IPv4 literal or `localhost` and a port from 1 to 65535.
    case invalidAddress(String)
    /// No connection could be made; the payload is `host:port: reason`.
    case connectFailed(String)
    /// The server accepted the request but did not answer (or read it) within the timeout.
    case timedOut
    /// The server closed the connection before a complete response arrived.
    case connectionClosed
    /// The server's bytes are not a valid HTTP/1.x response; the payload says which rule was broken.
    case malformedResponse(String)
    /// Sending or receiving failed; the payload names the call and the system's reason.
    case io(String)

    /// A message for the user.
    package var description: String {
        switch self {
        case .invalidAddress(let address):
            "invalid address '\(address)': expected host:port, with an IPv4 address or localhost and a port 1-65535"
        case .connectFailed(let detail):
            "cannot connect to \(detail)"
        case .timedOut:
            "timed out waiting for the server's response; the server may be overloaded or stuck"
        case .connectionClosed:
            "the server closed the connection before sending a complete response"
        case .malformedResponse(let detail):
            "malformed response from the server: \(detail)"
        case .io(let detail):
            "network error: \(detail)"
        }
    }
}

/// A blocking HTTP/1.1 client over one keep-alive connection, for the CLI, tests and load generators.
///
/// Not `Sendable`: use one per thread. The connection is made on the first `send` and reused while the server
/// keeps it open. If a reused connection turns out to have been closed by the server before any byte of the
/// response arrived (the usual idle-timeout race), the request is sent once more on a fresh connection; this is
/// the only retry, so a request may reach the server twice only if the server dropped the connection after
/// reading it without answering. Connecting and each read or write are bounded by the timeout.
package final class HTTPClient {
    /// The server's host: an IPv4 literal or `localhost`.
    package let host: String
    /// The server's port.
    package let port: UInt16
    /// A unix socket path to connect to instead of `host:port` (a Docker Engine API, say), or nil.
    package let unixSocketPath: String?
    /// The bound on connecting and on each read and write.
    package let timeoutMilliseconds: Int
    /// How many connections this client has opened, for tests and load statistics.
    package private(set) var connectionCount = 0
    /// Bounds on a response.
    let limits: HTTPResponseParser.Limits
    /// The connected socket, or -1 between connections.
    var descriptor: Int32 = -1
    /// Response framing for the current connection.
    var parser: HTTPResponseParser
    /// Reused for every read.
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    /// How an exchange failed: `stale` when the connection was found closed before any response byte, which on
    /// a reused connection warrants one retry; `fatal` otherwise.
    enum ExchangeFailure: Error {
        /// Closed by the server before any response byte arrived.
        case stale(HTTPClientError)
        /// Anything else.
        case fatal(HTTPClientError)

        /// The error to report.
        var error: HTTPClientError {
            switch self {
            case .stale(let error), .fatal(let error): error
            }
        }
    }

    /// A client for `host:port`; nothing is opened until the first `send`. An invalid host is reported then.
    package init(
        host: String,
        port: UInt16,
        timeoutMilliseconds: Int = 10_000,
        limits: HTTPResponseParser.Limits = HTTPResponseParser.Limits()
    ) {
        precondition(timeoutMilliseconds > 0, "HTTPClient: timeoutMilliseconds must be positive")
        self.host = host
        self.port = port
        self.unixSocketPath = nil
        self.timeoutMilliseconds = timeoutMilliseconds
        self.limits = limits
        self.parser = HTTPResponseParser(limits: limits)
    }

    /// A client for the server listening on the unix socket at `path` (requests carry `Host: localhost`); nothing
    /// is opened until the first `send`.
    package init(
        unixSocketPath path: String,
        timeoutMilliseconds: Int = 10_000,
        limits: HTTPResponseParser.Limits = HTTPResponseParser.Limits()
    ) {
        precondition(timeoutMilliseconds > 0, "HTTPClient: timeoutMilliseconds must be positive")
        self.host = "localhost"
        self.port = 0
        self.unixSocketPath = path
        self.timeoutMilliseconds = timeoutMilliseconds
        self.limits = limits
        self.parser = HTTPResponseParser(limits: limits)
    }

    /// A client for `address`, written `host:port` with an IPv4 literal or `localhost` as the host.
    package convenience init(
        address: String,
        timeoutMilliseconds: Int = 10_000,
        limits: HTTPResponseParser.Limits = HTTPResponseParser.Limits()
    ) throws(HTTPClientError) {
        let (host, port) = try Self.parseAddress(address)
        self.init(host: host, port: port, timeoutMilliseconds: timeoutMilliseconds, limits: limits)
    }

    deinit {
        close()
    }

    /// Splits `host:port`, checking the host is an IPv4 literal or `localhost` and the port is 1 through 65535.
    static func parseAddress(_ address: String) throws(HTTPClientError) -> (host: String, port: UInt16) {
        guard let colon = address.lastIndex(of: ":") else {
            throw .invalidAddress(address)
        }
        let host = String(address[..<colon])
        let portText = address[address.index(after: colon)...]
        guard ipv4Address(host) != nil, !portText.isEmpty, portText.allSatisfy(\.isASCII),
            portText.allSatisfy(\.isNumber), let port = UInt16(portText), port > 0
        else {
            throw .invalidAddress(address)
        }
        return (host, port)
    }

    /// The IPv4 address `host` names, or nil unless it is a dotted-quad literal or `localhost`.
    static func ipv4Address(_ host: String) -> in_addr? {
        var address = in_addr()
        let literal = host == "localhost" ? "127.0.0.1" : host
        return inet_pton(AF_INET, literal, &address) == 1 ? address : nil
    }

    /// Sends one request and waits for its response, connecting (or reconnecting) as needed.
    ///
    /// `Host` is added unless given, and `Content-Length` whenever there is a body or the method is POST, PUT or
    /// PATCH; `Content-Length` and `Transfer-Encoding` in `headers` are ignored. A `Connection: close` header
    /// closes the connection after the response. `method`, `target` and `headers` must be valid HTTP syntax
    /// (percent-encode targets); invalid syntax is a programmer error and traps.
    package func send(
        method: String,
        target: String,
        headers: [HTTPHeader] = [],
        body: [UInt8] = []
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let request = serialize(method: method, target: target, headers: headers, body: body)
        let closeAfter = headers.contains {
            asciiCaseInsensitiveEquals($0.name, "Connection")
                && commaSeparatedElements($0.value).contains { asciiCaseInsensitiveEquals($0, "close") }
        }
        if descriptor >= 0 && connectionLooksClosed() {
            close()
        }
        let reusing = descriptor >= 0
        if !reusing {
            try connect()
        }
        do {
            return try exchange(request, method: method, closeAfter: closeAfter)
        } catch {
            close()
            guard reusing, case .stale = error else {
                throw error.error
            }
        }
        try connect()
        do {
            return try exchange(request, method: method, closeAfter: closeAfter)
        } catch {
            close()
            throw error.error
        }
    }

    /// Closes the connection, if any; the next `send` opens a new one.
    package func close() {
        if descriptor >= 0 {
            closeDescriptor(descriptor)
            descriptor = -1
        }
        parser = HTTPResponseParser(limits: limits)
    }

    /// The request's bytes: request line, headers with `Host` and framing added, blank line, body.
    func serialize(method: String, target: String, headers: [HTTPHeader], body: [UInt8]) -> [UInt8] {
        precondition(HTTPSyntax.isToken(Array(method.utf8)[...]), "HTTPClient: method '\(method)' is not a token")
        precondition(
            !target.isEmpty && target.utf8.allSatisfy { (0x21...0x7E).contains($0) },
            "HTTPClient: target '\(target)' is empty or has characters that must be percent-encoded"
        )
        var text = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { asciiCaseInsensitiveEquals($0.name, "Host") }) {
            text += unixSocketPath == nil ? "Host: \(host):\(port)\r\n" : "Host: localhost\r\n"
        }
        for header in headers {
            precondition(
                HTTPSyntax.isToken(Array(header.name.utf8)[...]),
                "HTTPClient: header name '\(header.name)' is not a token"
            )
            precondition(
                header.value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 },
                "HTTPClient: header '\(header.name)' has a control character in its value"
            )
            if asciiCaseInsensitiveEquals(header.name, "Content-Length")
                || asciiCaseInsensitiveEquals(header.name, "Transfer-Encoding")
            {
                continue
            }
            text += "\(header.name): \(header.value)\r\n"
        }
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// Writes `request` and reads until its response is complete; closes the connection afterwards unless both
    /// sides keep it alive and nothing unexpected is buffered.
    func exchange(
        _ request: [UInt8],
        method: String,
        closeAfter: Bool
    ) throws(ExchangeFailure) -> HTTPClientResponse {
        try writeAll(request)
        parser.expect(method: method)
        var receivedAny = false
        while true {
            let result: SyscallResult<Int>
            do {
                result = try syscall("recv") {
                    readBuffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                }
            } catch {
                if !receivedAny && error.code == ECONNRESET {
                    throw .stale(.connectionClosed)
                }
                throw .fatal(.io(Self.describe(error)))
            }
            guard case .completed(let count) = result else {
                throw .fatal(.timedOut)
            }
            if count == 0 && !receivedAny {
                throw .stale(.connectionClosed)
            }
            receivedAny = true
            let ended = count == 0
            let responses: [HTTPClientResponse]
            do throws(HTTPResponseParseError) {
                responses = ended ? [try parser.finish()].compactMap { $0 } : try parser.feed(readBuffer[0..<count])
            } catch .truncated {
                throw .fatal(.connectionClosed)
            } catch {
                throw .fatal(.malformedResponse(error.description))
            }
            if let response = responses.first {
                // Bytes beyond this response were never asked for: the connection cannot be trusted further.
                let unsolicited = responses.count > 1 || parser.hasPartialResponse
                if ended || closeAfter || !response.keepAlive || unsolicited {
                    close()
                }
                return response
            }
            if ended {
                throw .fatal(.connectionClosed)
            }
        }
    }

    /// Sends every byte of `bytes`; EPIPE or ECONNRESET mean the server had already closed the connection.
    func writeAll(_ bytes: [UInt8]) throws(ExchangeFailure) {
        var offset = 0
        while offset < bytes.count {
            let result: SyscallResult<Int>
            do {
                result = try syscall("send") {
                    bytes.withUnsafeBytes {
                        Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                    }
                }
            } catch {
                if error.code == EPIPE || error.code == ECONNRESET {
                    throw .stale(.connectionClosed)
                }
                throw .fatal(.io(Self.describe(error)))
            }
            guard case .completed(let count) = result else {
                throw .fatal(.timedOut)
            }
            offset += count
        }
    }

    /// Whether the idle connection has been closed (or has sent something unsolicited), checked without waiting
    /// so that a request is not written to a connection already known to be dead.
    func connectionLooksClosed() -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else {
            return false
        }
        var byte: UInt8 = 0
        let peeked = recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return peeked >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Opens a connection: non-blocking connect bounded by the timeout, then a blocking socket with send and
    /// receive timeouts and Nagle's algorithm off.
    func connect() throws(HTTPClientError) {
        if let unixSocketPath {
            try connectUnix(unixSocketPath)
            return
        }
        let endpoint = "\(host):\(port)"
        guard var address = Self.socketAddress(host: host, port: port) else {
            throw .invalidAddress(endpoint)
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socketDescriptor: Int32
        do {
            socketDescriptor = try syscallValue("socket") { socket(AF_INET, type, 0) }
        } catch {
            throw .connectFailed("\(endpoint): \(Self.reason(error.code))")
        }
        do {
            try Self.connect(socketDescriptor, to: &address, timeoutMilliseconds: timeoutMilliseconds)
            try Self.configure(socketDescriptor, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            closeDescriptor(socketDescriptor)
            if error.code == ETIMEDOUT && error.call == "poll" {
                throw .connectFailed("\(endpoint): no answer within \(timeoutMilliseconds) ms")
            }
            throw .connectFailed("\(endpoint): \(Self.reason(error.code))")
        }
        descriptor = socketDescriptor
        connectionCount += 1
        parser = HTTPResponseParser(limits: limits)
    }

    /// Connects to the unix socket at `path` (a local connect does not wait), with send and receive timeouts.
    func connectUnix(_ path: String) throws(HTTPClientError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw .connectFailed("unix:\(path): the path must be 1 to \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (position, byte) in bytes.enumerated() { raw[position] = byte }
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socketDescriptor: Int32
        do {
            socketDescriptor = try syscallValue("socket") { socket(AF_UNIX, type, 0) }
        } catch {
            throw .connectFailed("unix:\(path): \(Self.reason(error.code))")
        }
        do {
            try syscallValue("connect") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
            var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
            let timevalSize = socklen_t(MemoryLayout<timeval>.size)
            try syscallValue("setsockopt(SO_RCVTIMEO)") {
                setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, timevalSize)
            }
            try syscallValue("setsockopt(SO_SNDTIMEO)") {
                setsockopt(socketDescriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, timevalSize)
            }
        } catch {
            closeDescriptor(socketDescriptor)
            throw .connectFailed("unix:\(path): \(Self.reason(error.code))")
        }
        descriptor = socketDescriptor
        connectionCount += 1
        parser = HTTPResponseParser(limits: limits)
    }

    /// The IPv4 socket address for `host:port`, or nil when `host` is neither a literal nor `localhost`.
    static func socketAddress(host: String, port: UInt16) -> sockaddr_in? {
        guard let ip = ipv4Address(host) else {
            return nil
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = ip
        return address
    }

    /// Connects the non-blocking `descriptor`, waiting up to the timeout; a timeout throws ETIMEDOUT from "poll".
    static func connect(
        _ descriptor: Int32,
        to address: inout sockaddr_in,
        timeoutMilliseconds: Int
    ) throws(PosixError) {
        do {
            try syscallValue("connect") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            return
        } catch {
            // EALREADY: an interrupted connect was retried and the first attempt is still in progress.
            guard error.code == EINPROGRESS || error.code == EALREADY else {
                throw error
            }
        }
        let deadline = Socket.monotonicMilliseconds() + Int64(timeoutMilliseconds)
        while true {
            let remaining = deadline - Socket.monotonicMilliseconds()
            guard remaining > 0 else {
                throw PosixError(ETIMEDOUT, "poll")
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = try syscallValue("poll") { poll(&poller, 1, Int32(clamping: remaining)) }
            if ready > 0 {
                break
            }
        }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try syscallValue("getsockopt(SO_ERROR)") { getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length) }
        if failure != 0 {
            throw PosixError(failure, "connect")
        }
    }

    /// Makes `descriptor` blocking with send and receive timeouts, and turns Nagle's algorithm off.
    static func configure(_ descriptor: Int32, timeoutMilliseconds: Int) throws(PosixError) {
        let flags = try syscallValue("fcntl(F_GETFL)") { fcntl(descriptor, F_GETFL) }
        try syscallValue("fcntl(F_SETFL)") { fcntl(descriptor, F_SETFL, flags & ~Int32(O_NONBLOCK)) }
        var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        let timevalSize = socklen_t(MemoryLayout<timeval>.size)
        try syscallValue("setsockopt(SO_RCVTIMEO)") {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, timevalSize)
        }
        try syscallValue("setsockopt(SO_SNDTIMEO)") {
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, timevalSize)
        }
        var one: Int32 = 1
        try syscallValue("setsockopt(TCP_NODELAY)") {
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// `strerror(code)` with a lower-case first letter, to follow "cannot connect to host:port: ".
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// "call: reason" for an I/O failure.
    static func describe(_ error: PosixError) -> String {
        "\(error.call): \(reason(error.code))"
    }
}
