import FeaturescopeCore
import Foundation

/// A thread-safe cache from a word's UTF-8 bytes to its token ids, so each distinct
/// word is merged once. Open addressing over flat byte and id buffers (no per-entry
/// allocation); emptied when it reaches `maxEntries`.
final class WordCache: @unchecked Sendable {
    /// Words longer than this are not cached.
    static let maxWordBytes = 128

    private let lock = NSLock()
    private let maxEntries: Int
    // All guarded by `lock`.
    private var slots: [Slot]
    private var keyBytes: [UInt8] = []
    private var values: [Int32] = []
    private var count = 0

    private struct Slot {
        var hash: UInt64 = 0
        var keyStart: Int32 = -1  // -1: empty
        var keyLength: Int32 = 0
        var valueStart: Int32 = 0
        var valueLength: Int32 = 0
    }

    init(maxEntries: Int = 1 << 19) {
        self.maxEntries = maxEntries
        slots = [Slot](repeating: Slot(), count: 1 << 12)
    }

    /// FNV-1a over the word's bytes, then mixed so the low bits are usable as a slot index.
    @inline(__always)
    static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = FNV1a.hash(word)
        h ^= h >> 32
        h &*= 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 29)
    }

    /// Appends the cached ids of `word` to `out` and returns true, or returns false.
    func lookup(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, into out: inout [Int32]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = find(word, hash: hash), slots[slot].keyStart >= 0 else { return false }
        let s = slots[slot]
        values.withUnsafeBufferPointer { v in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: v[Int(s.valueStart) ..< Int(s.valueStart + s.valueLength)]))
        }
        return true
    }

    /// Remembers the ids of `word`.
    func insert(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, ids: ArraySlice<Int32>) {
        guard word.count <= Self.maxWordBytes else { return }
        lock.lock()
        defer { lock.unlock() }
        if count >= maxEntries || keyBytes.count > Int(Int32.max) / 2 || values.count > Int(Int32.max) / 2 {
            slots = [Slot](repeating: Slot(), count: 1 << 12)
            keyBytes.removeAll(keepingCapacity: false)
            values.removeAll(keepingCapacity: false)
            count = 0
        }
        if (count + 1) * 2 > slots.count { grow() }
        guard let slot = find(word, hash: hash), slots[slot].keyStart < 0 else { return }
        slots[slot] = Slot(hash: hash, keyStart: Int32(keyBytes.count), keyLength: Int32(word.count),
                           valueStart: Int32(values.count), valueLength: Int32(ids.count))
        keyBytes.append(contentsOf: word)
        values.append(contentsOf: ids)
        count += 1
    }

    /// The slot holding `word`, or the empty slot where it would go.
    private func find(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { sl in
            keyBytes.withUnsafeBufferPointer { kb in
                while true {
                    let s = sl[i]
                    if s.keyStart < 0 { return i }
                    if s.hash == hash && Int(s.keyLength) == word.count {
                        if word.count == 0 { return i }
                        if let a = kb.baseAddress, let b = word.baseAddress,
                           memcmp(a + Int(s.keyStart), b, word.count) == 0 {
                            return i
                        }
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    private func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        let mask = slots.count - 1
        for s in old where s.keyStart >= 0 {
            var i = Int(truncatingIfNeeded: s.hash) & mask
            while slots[i].keyStart >= 0 { i = (i + 1) & mask }
            slots[i] = s
        }
    }
}
