import Raft

/// The randomised tests draw from the core's seeded SplitMix64, so a failing seed replays.
typealias SplitMix64 = Raft.SplitMix64

extension Raft.SplitMix64 {
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
