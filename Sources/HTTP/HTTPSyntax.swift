/// The byte-level grammar of RFC 9110 and RFC 9112 that `HTTPParser` applies to complete lines.
enum HTTPSyntax {
    /// Carriage return.
    static let cr = UInt8(ascii: "\r")
    /// Line feed.
    static let lf = UInt8(ascii: "\n")

    /// Whether `byte` is a `tchar` (RFC 9110 §5.6.2): a visible ASCII character other than a delimiter.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Whether `bytes` is a non-empty token.
    static func isToken(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenCharacter)
    }

    /// Parses `METHOD SP target SP HTTP/x.y` (RFC 9112 §3), without its line ending.
    ///
    /// Exactly one space separates the parts; the lenient whitespace RFC 9112 §3 permits is refused because
    /// parsers that disagree about it are a request-smuggling vector.
    static func parseRequestLine(
        _ line: ArraySlice<UInt8>
    ) throws(HTTPParseError) -> (method: String, target: String, version: HTTPVersion) {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .malformed("request line must be METHOD SP target SP version")
        }
        guard isToken(parts[0]) else {
            throw .malformed("method is not a token")
        }
        // Visible ASCII only: no spaces, controls, DEL or raw non-ASCII bytes in the target.
        guard !parts[1].isEmpty, parts[1].allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .malformed("request target is empty or contains invalid characters")
        }
        let version = try parseVersion(parts[2])
        return (
            String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self), version
        )
    }

    /// Parses `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3); a well-formed version other than 1.0 or 1.1 is a 505.
    static func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        let bytes = Array(bytes)
        guard bytes.count == 8, bytes[0..<5].elementsEqual("HTTP/".utf8), digits.contains(bytes[5]),
            bytes[6] == UInt8(ascii: "."), digits.contains(bytes[7])
        else {
            throw .malformed("version must be HTTP/DIGIT.DIGIT")
        }
        let version = HTTPVersion(major: bytes[5] - UInt8(ascii: "0"), minor: bytes[7] - UInt8(ascii: "0"))
        guard version == .http1_0 || version == .http1_1 else {
            throw .versionNotSupported
        }
        return version
    }

    /// Parses `name ":" OWS value OWS` (RFC 9112 §5), without its line ending.
    ///
    /// A line starting with whitespace is obsolete line folding, and whitespace before the colon is forbidden;
    /// both are rejected (RFC 9112 §5.1, §5.2).
    static func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPHeader {
        if let first = line.first, isWhitespace(first) {
            throw .malformed("obsolete line folding is not accepted")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformed("header line has no colon")
        }
        let name = line[..<colon]
        if let last = name.last, isWhitespace(last) {
            throw .malformed("whitespace between header name and colon")
        }
        guard isToken(name) else {
            throw .malformed("header name is not a token")
        }
        let value = trimmingWhitespace(line[(colon + 1)...])
        // field-vchar is VCHAR or obs-text; inner spaces and tabs are allowed, other controls and DEL are not.
        guard value.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
            throw .malformed("header value contains a control character")
        }
        return HTTPHeader(
            name: String(decoding: name, as: UTF8.self),
            value: String(decoding: value, as: UTF8.self)
        )
    }

    /// Parses `1*DIGIT` saturating at `cap`, so an absurd length reports as too large rather than overflowing.
    static func parseContentLength(_ value: String, cap: Int) throws(HTTPParseError) -> Int {
        guard !value.isEmpty else {
            throw .malformed("Content-Length is empty")
        }
        var result = 0
        for byte in value.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                throw .malformed("Content-Length is not a decimal number")
            }
            #if GANTRY_FUZZ_PLANTED_BUG
            // Planted for bench/fuzz/run-http-fuzzer --planted: no saturation, so a long number overflows and traps.
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
            #else
            result = min(result * 10 + Int(byte - UInt8(ascii: "0")), cap)
            #endif
        }
        return result
    }

    /// Parses a chunk-size line, `1*HEXDIG *( BWS ";" chunk-ext )` (RFC 9112 §7.1), returning the size.
    ///
    /// Extensions are checked for stray control characters and otherwise ignored. Sizes saturate at `cap`.
    static func parseChunkSize(_ line: ArraySlice<UInt8>, cap: Int) throws(HTTPParseError) -> Int {
        var size = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = hexValue(line[index]) {
            size = min(size * 16 + digit, cap)
            index += 1
        }
        guard index > line.startIndex else {
            throw .malformed("chunk size is not hexadecimal")
        }
        let rest = trimmingWhitespace(line[index...])
        if let first = rest.first {
            guard first == UInt8(ascii: ";") else {
                throw .malformed("unexpected bytes after chunk size")
            }
            guard rest.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
                throw .malformed("chunk extension contains a control character")
            }
        }
        return size
    }

    /// The value of a hexadecimal digit, or nil.
    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

/// `text` with every byte but RFC 3986's unreserved characters (letters, digits, `-`, `.`, `_`, `~`) and those in
/// `keeping` written as `%XX`: a path segment or query value ready for a request target.
package func percentEncoded(_ text: String, keeping: Set<UInt8> = []) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        case _ where keeping.contains(byte):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            result += "%"
            result.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
            result.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0xF)]))
        }
    }
    return result
}
