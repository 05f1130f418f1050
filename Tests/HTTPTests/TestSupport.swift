import HTTP
import Testing

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded generator so every random test replays from its seed.
struct SplitMix64: RandomNumberGenerator {
    /// The generator's whole state.
    var state: UInt64

    /// A generator starting from `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `bytes` cut into consecutive pieces of random length, empty pieces included.
    mutating func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let length = Int.random(in: 0...min(17, bytes.count - index), using: &self)
            pieces.append(Array(bytes[index..<index + length]))
            index += length
        }
        return pieces
    }
}

/// Everything a parser produced from a sequence of feeds, comparable across different splits of the same bytes.
struct Outcome: Equatable, CustomStringConvertible {
    /// The requests returned, in order.
    var requests: [HTTPRequest] = []
    /// The error thrown or recorded, if any.
    var error: HTTPParseError?
    /// Whether a request was still partially buffered at the end.
    var partial = false

    /// A short summary for failure messages.
    var description: String {
        "\(requests.map { "\($0.method) \($0.target) \($0.body.count)B" }) error: \(String(describing: error))"
    }
}

/// Feeds `pieces` in order to a fresh parser, stopping at the first thrown error.
func parse(_ pieces: [[UInt8]], limits: HTTPParser.Limits = HTTPParser.Limits()) -> Outcome {
    var parser = HTTPParser(limits: limits)
    var outcome = Outcome()
    for piece in pieces {
        do {
            outcome.requests += try parser.feed(piece)
        } catch {
            outcome.error = error
            return outcome
        }
    }
    outcome.error = parser.failure
    outcome.partial = parser.hasPartialRequest
    return outcome
}

/// Parses `text` fed in one piece.
func parse(_ text: String, limits: HTTPParser.Limits = HTTPParser.Limits()) -> Outcome {
    parse([Array(text.utf8)], limits: limits)
}

/// The error `text` produces when fed whole, or nil.
func parseError(_ text: String, limits: HTTPParser.Limits = HTTPParser.Limits()) -> HTTPParseError? {
    parse(text, limits: limits).error
}

/// Whether `bytes` gives the same outcome fed whole, byte by byte, and in random splits from seeds 1 through 20.
func splitsAgree(_ bytes: [UInt8], limits: HTTPParser.Limits = HTTPParser.Limits()) -> Bool {
    let whole = parse([bytes], limits: limits)
    guard parse(bytes.map { [$0] }, limits: limits) == whole else {
        return false
    }
    for seed in UInt64(1)...20 {
        var random = SplitMix64(seed: seed)
        guard parse(random.split(bytes), limits: limits) == whole else {
            Issue.record("split with seed \(seed) disagrees with the whole feed")
            return false
        }
    }
    return true
}
