/// A seeded generator for the randomised tests: SplitMix64 (Steele, Lea and Flood, "Fast Splittable Pseudorandom
/// Number Generators", 2014). Small, fast, and the same sequence on every platform, so a failing seed replays.
struct SplitMix64: RandomNumberGenerator {
    /// The generator's whole state; advanced by a fixed odd constant per draw.
    private var state: UInt64

    /// Creates a generator that yields the sequence of `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed &>> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed &>> 31)
    }

    /// `count` random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            var word = next()
            for _ in 0..<min(8, count - result.count) {
                result.append(UInt8(truncatingIfNeeded: word))
                word &>>= 8
            }
        }
        return result
    }

    /// A random value whose bit width is itself random, so small and large varints are both common.
    mutating func wideValue() -> UInt64 {
        let bits = Int.random(in: 0...64, using: &self)
        return bits == 0 ? 0 : next() &>> UInt64(64 - bits)
    }
}
