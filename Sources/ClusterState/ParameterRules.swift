/// What makes a parameter name, value or member address acceptable. The API checks these to give a precise 400, and
/// apply checks them again so that no command, however it reached the log, can break them.
package enum ParameterRules {
    /// The longest name, in bytes.
    package static let maxNameBytes = 256
    /// The largest value, in bytes of UTF-8 (64 KiB).
    package static let maxValueBytes = 64 * 1024

    /// Why `name` is not a valid parameter name, or nil when it is. Names are paths of segments separated by `/`:
    /// 1 to 256 bytes of ASCII letters, digits, `-`, `_`, `.` and `/`, with no empty segment (no leading, trailing or
    /// doubled `/`) and no `.` or `..` segment.
    package static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { return "must not be empty" }
        guard bytes.count <= maxNameBytes else { return "is \(bytes.count) bytes; the limit is \(maxNameBytes)" }
        for byte in bytes where !isNameByte(byte) {
            return
                "may contain only letters, digits, '-', '_', '.' and '/' (found '\(Character(Unicode.Scalar(byte)))')"
        }
        for segment in name.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { return "must not start or end with '/' or contain '//'" }
            if segment == "." || segment == ".." { return "must not contain a '.' or '..' segment" }
        }
        return nil
    }

    /// Why `value` is not an acceptable value, or nil.
    package static func valueProblem(_ value: String) -> String? {
        let count = value.utf8.count
        return count > maxValueBytes ? "is \(count) bytes; the limit is \(maxValueBytes) (64 KiB)" : nil
    }

    /// Why `prefix` cannot be a list prefix, or nil. A prefix is any beginning of a valid name (it may end in `/`).
    package static func prefixProblem(_ prefix: String) -> String? {
        guard !prefix.isEmpty else { return nil }
        let bytes = Array(prefix.utf8)
        guard bytes.count <= maxNameBytes else { return "is \(bytes.count) bytes; the limit is \(maxNameBytes)" }
        for byte in bytes where !isNameByte(byte) {
            return "may contain only letters, digits, '-', '_', '.' and '/'"
        }
        return nil
    }

    /// Why `address` is not a `host:port` peer address, or nil.
    package static func addressProblem(_ address: String) -> String? {
        guard let colon = address.lastIndex(of: ":") else { return "must be host:port" }
        let host = address[..<colon]
        let port = address[address.index(after: colon)...]
        guard !host.isEmpty, host.utf8.count <= 253 else { return "must be host:port with a non-empty host" }
        guard let number = UInt16(port), number > 0 else { return "must end in a port from 1 to 65535" }
        return nil
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}
