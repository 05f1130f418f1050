extension Raft {
    /// The in-memory log of a node: a compacted prefix summarised by a snapshot position, then the entries after it.
    /// The shell mirrors it on disk from each `Ready`; this copy is what the core reasons about.
    ///
    /// Invariant: `entries[i].index == snapshot.index + 1 + i`, and terms never decrease along the log.
    /// Invariant: `snapshot.index <= commitIndex <= lastIndex`.
    package struct Log: Sendable {
        /// The last entry covered by the latest snapshot (index 0, term 0 before any snapshot).
        package private(set) var snapshot: LogPosition
        /// The entries after `snapshot`.
        package private(set) var entries: [Entry]
        /// Highest index known to be committed.
        package var commitIndex: UInt64

        /// Creates a log from what was persisted.
        init(snapshot: LogPosition, entries: [Entry], commitIndex: UInt64) {
            precondition(
                entries.isEmpty || entries[0].index == snapshot.index + 1,
                "log entries must start right after the snapshot at \(snapshot)"
            )
            self.snapshot = snapshot
            self.entries = entries
            self.commitIndex = commitIndex
        }

        /// Index of the first entry held in memory (`snapshot.index + 1`, even when empty).
        package var firstIndex: UInt64 { snapshot.index + 1 }
        /// Index of the last entry, or of the snapshot when no entries follow it.
        package var lastIndex: UInt64 { snapshot.index + UInt64(entries.count) }
        /// Term of the last entry (or of the snapshot).
        package var lastTerm: UInt64 { entries.last?.term ?? snapshot.term }
        /// Position of the last entry.
        package var last: LogPosition { LogPosition(index: lastIndex, term: lastTerm) }

        /// The term at `index`: known for the snapshot index and held entries, nil for compacted or missing indexes.
        package func term(at index: UInt64) -> UInt64? {
            if index == snapshot.index { return snapshot.term }
            guard index > snapshot.index, index <= lastIndex else { return nil }
            return entries[Int(index - snapshot.index - 1)].term
        }

        /// The entry at `index`, if held.
        package func entry(at index: UInt64) -> Entry? {
            guard index > snapshot.index, index <= lastIndex else { return nil }
            return entries[Int(index - snapshot.index - 1)]
        }

        /// Whether the log holds an entry (or the snapshot) at `position`.
        package func contains(_ position: LogPosition) -> Bool {
            term(at: position.index) == position.term
        }

        /// Whether a log ending at `other` is at least as up-to-date as this one (§5.4.1): a later last term wins,
        /// and with equal last terms the longer log wins.
        func isUpToDate(_ other: LogPosition) -> Bool {
            other.term > lastTerm || (other.term == lastTerm && other.index >= lastIndex)
        }

        /// Entries in `from...to`, stopping once `maxBytes` of payload is reached (at least one entry when any).
        /// Returns nil when `from` is compacted.
        func slice(from: UInt64, through to: UInt64, maxBytes: Int) -> [Entry]? {
            guard from > snapshot.index else { return nil }
            guard from <= to, from <= lastIndex else { return [] }
            let upper = min(to, lastIndex)
            var result: [Entry] = []
            var bytes = 0
            var index = from
            while index <= upper {
                let entry = entries[Int(index - snapshot.index - 1)]
                bytes += entry.payload.byteCount
                if !result.isEmpty && bytes > maxBytes { break }
                result.append(entry)
                index += 1
            }
            return result
        }

        /// The largest index at or below `index` whose term is at most `term`, with that term: where the leader
        /// should probe next after a rejection (fast back-off). Clamped to the snapshot.
        func lastIndex(atOrBelow index: UInt64, withTermAtMost term: UInt64) -> LogPosition {
            var probe = min(index, lastIndex)
            while probe > snapshot.index {
                let probeTerm = entries[Int(probe - snapshot.index - 1)].term
                if probeTerm <= term { return LogPosition(index: probe, term: probeTerm) }
                probe -= 1
            }
            return snapshot
        }

        /// Appends entries that follow the last one directly.
        mutating func append(_ newEntries: [Entry]) {
            guard let first = newEntries.first else { return }
            precondition(first.index == lastIndex + 1, "append at \(first.index) does not follow \(lastIndex)")
            entries.append(contentsOf: newEntries)
        }

        /// Removes every entry at `index` and after it. Committed entries are never removed: doing so would break
        /// State Machine Safety, so it traps.
        mutating func truncate(from index: UInt64) {
            precondition(index > commitIndex, "truncating committed entry \(index) (commit \(commitIndex))")
            precondition(index > snapshot.index, "truncating below the snapshot at \(snapshot)")
            entries.removeSubrange(Int(index - snapshot.index - 1)...)
        }

        /// Forgets the entries up to and including `index` (which must be held), remembering its position.
        mutating func compact(through index: UInt64) {
            guard index > snapshot.index else { return }
            precondition(index <= lastIndex, "compacting beyond the last index \(lastIndex)")
            let position = LogPosition(index: index, term: term(at: index)!)
            entries.removeFirst(Int(index - snapshot.index))
            snapshot = position
        }

        /// Replaces the whole log with a snapshot at `position` (a follower installing a snapshot).
        mutating func reset(to position: LogPosition) {
            entries = []
            snapshot = position
            commitIndex = position.index
        }
    }
}
