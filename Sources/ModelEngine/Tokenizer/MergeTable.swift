/// BPE merge ranks keyed by the pair of symbol ids, in an open-addressing hash table.
///
/// A lookup returns `rank << 32 | mergedId` (so comparing two results compares ranks
/// first), or `MergeTable.none` when the pair never merges.
struct MergeTable: Sendable {
    static let none = UInt64.max
    private static let emptyKey = UInt64.max

    private let keys: [UInt64]
    private let values: [UInt64]
    private let shift: UInt64

    /// `merges[rank]` = (left id, right id, merged id). A pair listed twice keeps its
    /// first (lowest) rank, as llama.cpp's `bpe_ranks.emplace` does.
    init(merges: [(left: Int32, right: Int32, merged: Int32)]) {
        var bits: UInt64 = 4
        while (1 << bits) < merges.count * 2 + 16 { bits += 1 }
        let capacity = 1 << Int(bits)
        var keys = [UInt64](repeating: Self.emptyKey, count: capacity)
        var values = [UInt64](repeating: Self.none, count: capacity)
        let shift = 64 - bits
        let mask = capacity - 1
        for (rank, m) in merges.enumerated() {
            let key = Self.key(m.left, m.right)
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[slot] != Self.emptyKey && keys[slot] != key { slot = (slot + 1) & mask }
            if keys[slot] == key { continue }
            keys[slot] = key
            values[slot] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: m.merged))
        }
        self.keys = keys
        self.values = values
        self.shift = shift
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// `rank << 32 | mergedId` for the pair, or `MergeTable.none`.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = Self.key(left, right)
        return keys.withUnsafeBufferPointer { k in
            let mask = k.count - 1
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while true {
                let found = k[slot]
                if found == key { return values.withUnsafeBufferPointer { $0[slot] } }
                if found == Self.emptyKey { return Self.none }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The merged id packed in a lookup result.
    @inline(__always)
    static func mergedId(_ packed: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: packed)) }
}
