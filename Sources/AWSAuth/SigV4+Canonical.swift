package import HTTP

extension SigV4 {
    /// The canonical request: method, canonical URI, canonical query string, the canonical headers (one
    /// `name:value` line each, then an empty line), the signed header list and the payload hash, joined by newlines.
    ///
    /// - The URI is the path as sent with dot segments and repeated slashes removed (as AWS services other than S3
    ///   normalize it, and botocore before signing), then URI-encoded once more, '/' kept: so `%20` on the wire
    ///   becomes `%2520`, the "encode twice" of AWS's spec. An empty path is `/`.
    /// - The query string's parameters are decoded ('+' as a space, as AWS does: botocore sends a space as '+' and
    ///   signs it as `%20`) and re-encoded (RFC 3986 unreserved characters kept, everything else `%XX` in
    ///   capitals), then sorted by name and then value; a parameter without `=` gets an empty value.
    /// - Each header value is trimmed with inner runs of whitespace collapsed to one space; a header sent several
    ///   times has its values joined by commas in the order sent.
    package static func canonicalRequest(_ request: HTTPRequest, signedHeaders: [String], payloadHash: String) -> String
    {
        let target = request.target.utf8
        let queryStart = target.firstIndex(of: UInt8(ascii: "?"))
        let path = Array(target[..<(queryStart ?? target.endIndex)])
        let query = queryStart.map { Array(target[target.index(after: $0)...]) } ?? []
        var lines = [request.method, canonicalURI(path), canonicalQueryString(query)]
        for name in signedHeaders {
            let values = request.headers(named: name).map(canonicalHeaderValue)
            lines.append("\(name):\(values.joined(separator: ","))")
        }
        lines.append("")
        lines.append(signedHeaders.joined(separator: ";"))
        lines.append(payloadHash)
        return lines.joined(separator: "\n")
    }

    /// The canonical URI of a path as sent (see `canonicalRequest`).
    static func canonicalURI(_ path: [UInt8]) -> String {
        let normalized = removingDotSegments(path)
        return uriEncoded(normalized.isEmpty ? Array("/".utf8) : normalized, keepingSlash: true)
    }

    /// `path` with `.` and `..` segments resolved (RFC 3986 §5.2.4) and empty segments dropped, keeping a leading
    /// and a trailing '/': AWS services require repeated slashes removed too.
    static func removingDotSegments(_ path: [UInt8]) -> [UInt8] {
        guard let first = path.first, let last = path.last else { return [] }
        let slash = UInt8(ascii: "/")
        var output: [ArraySlice<UInt8>] = []
        for segment in path.split(separator: slash) {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) {
                if !output.isEmpty { output.removeLast() }
                continue
            }
            output.append(segment)
        }
        var result: [UInt8] = first == slash ? [slash] : []
        result += Array(output.joined(separator: [slash]))
        if last == slash && !output.isEmpty { result.append(slash) }
        return result
    }

    /// The canonical query string of a raw query (the part after '?'; see `canonicalRequest`).
    static func canonicalQueryString(_ query: [UInt8]) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(name: String, value: String)] = []
        for parameter in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            let equals = parameter.firstIndex(of: UInt8(ascii: "="))
            let name = Array(parameter[..<(equals ?? parameter.endIndex)])
            let value = equals.map { Array(parameter[parameter.index(after: $0)...]) } ?? []
            pairs.append((reencoded(name), reencoded(value)))
        }
        pairs.sort { left, right in
            left.name == right.name
                ? left.value.utf8.lexicographicallyPrecedes(right.value.utf8)
                : left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
        }
        return pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// A query component decoded and encoded again the canonical way; one with a malformed %-escape stays as sent
    /// (a signer could not have produced it, so the signature will not match).
    static func reencoded(_ component: [UInt8]) -> String {
        guard let decoded = percentDecoded(component) else { return String(decoding: component, as: UTF8.self) }
        return uriEncoded(decoded, keepingSlash: false)
    }

    /// `bytes` with each `%XX` replaced by its byte and each '+' by a space (form encoding, as query strings use),
    /// or nil for a '%' not followed by two hex digits.
    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "%") {
                guard position + 2 < bytes.count,
                    let high = LibCrypto.hexValue(bytes[position + 1]),
                    let low = LibCrypto.hexValue(bytes[position + 2])
                else { return nil }
                output.append(high << 4 | low)
                position += 3
            } else if bytes[position] == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
                position += 1
            } else {
                output.append(bytes[position])
                position += 1
            }
        }
        return output
    }

    /// `bytes` URI-encoded as SigV4 requires: RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) as they are,
    /// '/' as it is when `keepingSlash`, every other byte as `%XX` with capital hex digits.
    static func uriEncoded(_ bytes: [UInt8], keepingSlash: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `byte` is an RFC 3986 unreserved character.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A header value trimmed, with every inner run of whitespace (space, tab, vertical tab, form feed, CR, LF)
    /// collapsed to one space: SigV4's Trimall.
    static func canonicalHeaderValue(_ value: String) -> String {
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0B, 0x0C, 0x0D, 0x0A]
        let words = value.utf8.split(whereSeparator: { whitespace.contains($0) })
        return words.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }
}
