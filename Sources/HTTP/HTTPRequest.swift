/// The protocol version from a request line, `HTTP/major.minor`.
package struct HTTPVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The digit before the dot.
    package var major: UInt8
    /// The digit after the dot.
    package var minor: UInt8

    /// `HTTP/1.0`.
    package static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// `HTTP/1.1`.
    package static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// A version from its two digits.
    package init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// The version as it appears on the wire, for example `HTTP/1.1`.
    package var description: String { "HTTP/\(major).\(minor)" }
}

/// One header field line: the name exactly as sent and the value with surrounding whitespace removed.
package struct HTTPHeader: Sendable, Equatable, Hashable {
    /// The field name as sent; compare it case-insensitively.
    package var name: String
    /// The field value without leading or trailing spaces and tabs.
    package var value: String

    /// A header field from its name and value.
    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A complete, framed HTTP/1.1 request as produced by `HTTPParser`.
package struct HTTPRequest: Sendable, Equatable {
    /// The method token, case-sensitive as RFC 9110 §9.1 requires (`GET`, not `get`).
    package var method: String
    /// The request target exactly as sent: path and query in origin form, or another form the router rejects.
    package var target: String
    /// The version from the request line; always 1.0 or 1.1 for parsed requests.
    package var version: HTTPVersion
    /// Every header field line in the order sent, duplicates included.
    package var headers: [HTTPHeader]
    /// The message body with any chunked framing removed; empty when the request has none.
    package var body: [UInt8]

    /// A request from its parts.
    package init(
        method: String,
        target: String,
        version: HTTPVersion = .http1_1,
        headers: [HTTPHeader] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name`, compared case-insensitively, or nil.
    package func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// The values of every header named `name`, compared case-insensitively, in the order sent.
    package func headers(named name: String) -> [String] {
        headers.filter { asciiCaseInsensitiveEquals($0.name, name) }.map(\.value)
    }

    /// Whether the connection stays open after the response (RFC 9112 §9.3).
    ///
    /// HTTP/1.1 persists unless a `Connection` header lists `close`; HTTP/1.0 closes unless one lists
    /// `keep-alive`. `close` wins over `keep-alive` when both appear.
    package var keepAlive: Bool {
        var sawClose = false
        var sawKeepAlive = false
        for value in headers(named: "Connection") {
            for option in commaSeparatedElements(value) {
                if asciiCaseInsensitiveEquals(option, "close") {
                    sawClose = true
                } else if asciiCaseInsensitiveEquals(option, "keep-alive") {
                    sawKeepAlive = true
                }
            }
        }
        if sawClose {
            return false
        }
        return version == .http1_0 ? sawKeepAlive : true
    }
}

/// Whether `lhs` and `rhs` are equal ignoring ASCII case; header names and tokens are ASCII.
func asciiCaseInsensitiveEquals(_ lhs: String, _ rhs: String) -> Bool {
    let left = lhs.utf8
    let right = rhs.utf8
    guard left.count == right.count else {
        return false
    }
    return zip(left, right).allSatisfy { asciiLowercase($0) == asciiLowercase($1) }
}

/// `byte` with ASCII `A`–`Z` mapped to `a`–`z`.
func asciiLowercase(_ byte: UInt8) -> UInt8 {
    (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
}

/// The non-empty elements of a comma-separated list value, each without surrounding whitespace (RFC 9110 §5.6.1).
func commaSeparatedElements(_ value: String) -> [String] {
    value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).compactMap { element in
        let trimmed = trimmingWhitespace(element)
        return trimmed.isEmpty ? nil : String(decoding: trimmed, as: UTF8.self)
    }
}

/// `bytes` without leading or trailing spaces and horizontal tabs (optional whitespace, RFC 9110 §5.6.3).
func trimmingWhitespace<C: BidirectionalCollection<UInt8>>(_ bytes: C) -> C.SubSequence {
    var slice = bytes[...]
    while let first = slice.first, isWhitespace(first) {
        slice.removeFirst()
    }
    while let last = slice.last, isWhitespace(last) {
        slice.removeLast()
    }
    return slice
}

/// Whether `byte` is a space or a horizontal tab.
func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09
}
