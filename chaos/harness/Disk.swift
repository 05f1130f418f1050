// Disk faults on a stopped node's write-ahead log, guided by the offsets the node (in test mode) reported durable.
import Glibc

enum Disk {
    /// The segment and offset a node last reported durable (`<data-dir>/durable-offsets`).
    static func durable(_ dataDirectory: String) -> (segment: String, offset: Int)? {
        guard let text = readText("\(dataDirectory)/durable-offsets") else { return nil }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count >= 2, let offset = Int(words[1]) else { return nil }
        return (String(words[0]), offset)
    }

    static func segments(_ dataDirectory: String) -> [String] {
        guard let directory = opendir("\(dataDirectory)/wal") else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("wal-") && name.hasSuffix(".log") { names.append(name) }
        }
        return names.sorted()
    }

    /// What a power cut at the moment of a kill -9 could leave: every byte after the durable offset gone (zeroed, as
    /// the preallocated file was), later segments gone, and, with `tear`, a torn record: a prefix of the lost bytes
    /// (or, when nothing was lost, a few random bytes) where the next batch was being written. Returns what it did.
    static func dropUnsynced(_ dataDirectory: String, tear: Bool, random: inout Random) -> String {
        guard let (segment, durableOffset) = durable(dataDirectory) else {
            return "no durable offsets reported yet; log left as it was"
        }
        var removed: [String] = []
        for name in segments(dataDirectory) where name > segment {
            unlink("\(dataDirectory)/wal/\(name)")
            removed.append(name)
        }
        let path = "\(dataDirectory)/wal/\(segment)"
        guard let bytes = readFile(path) else { return "segment \(segment) is missing" }
        let end = (bytes.lastIndex { $0 != 0 } ?? -1) + 1
        let lost = max(0, end - durableOffset)
        let descriptor = open(path, O_WRONLY)
        guard descriptor >= 0 else { return "cannot open \(path)" }
        defer { close(descriptor) }
        if lost > 0 {
            let zeros = [UInt8](repeating: 0, count: lost)
            _ = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, lost, off_t(durableOffset)) }
        }
        var torn = ""
        if tear {
            let tail: [UInt8]
            if lost > 1 {
                tail = Array(bytes[durableOffset..<(durableOffset + 1 + random.below(lost - 1))])
            } else {
                tail = (0..<(1 + random.below(48))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            _ = tail.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, tail.count, off_t(durableOffset)) }
            torn = ", left a torn record of \(tail.count) bytes"
        }
        let dropped = removed.isEmpty ? "" : ", removed \(removed.joined(separator: " "))"
        return
            "cut \(segment) back to its durable offset \(durableOffset): dropped \(lost) unsynced bytes\(torn)\(dropped)"
    }

    /// A bit flipped in the node's durable log, away from the last batch (whose commit record a torn write could
    /// also have damaged, which recovery rightly cuts off).
    struct Flip {
        var path: String
        var offset: Int
        var bit: Int
    }

    static func flipBit(_ dataDirectory: String, random: inout Random) -> Flip? {
        guard let (segment, durableOffset) = durable(dataDirectory) else { return nil }
        let flip = Flip(
            path: "\(dataDirectory)/wal/\(segment)",
            offset: random.below(max(1, durableOffset - 64)),
            bit: random.below(8)
        )
        return toggle(flip) ? flip : nil
    }

    /// Flips the bit (again: undoes a flip).
    @discardableResult
    static func toggle(_ flip: Flip) -> Bool {
        let descriptor = open(flip.path, O_RDWR)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var byte: UInt8 = 0
        guard pread(descriptor, &byte, 1, off_t(flip.offset)) == 1 else { return false }
        byte ^= UInt8(1 << flip.bit)
        return pwrite(descriptor, &byte, 1, off_t(flip.offset)) == 1
    }
}
