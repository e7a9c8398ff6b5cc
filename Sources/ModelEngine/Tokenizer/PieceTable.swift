import FeaturescopeCore
import Foundation

/// An immutable map from byte strings (token texts) to token ids, looked up without
/// allocating: open addressing over one flat buffer of key bytes.
struct PieceTable: Sendable {
    private let keyBytes: [UInt8]
    private let keyStart: [Int32]
    private let keyLength: [Int32]
    private let ids: [Int32]
    private let mask: Int

    /// `pieces[i]` maps to `i`; a repeated piece keeps its last id (llama.cpp's
    /// `token_to_id[text] = id`). Nil entries are left out.
    init(pieces: [[UInt8]?]) {
        var capacity = 16
        while capacity < pieces.count * 2 + 16 { capacity <<= 1 }
        var keyBytes: [UInt8] = []
        var keyStart = [Int32](repeating: -1, count: capacity)
        var keyLength = [Int32](repeating: 0, count: capacity)
        var ids = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for (id, piece) in pieces.enumerated() {
            guard let piece else { continue }
            var slot = piece.withUnsafeBufferPointer { Int(truncatingIfNeeded: Self.hash($0)) & mask }
            while keyStart[slot] >= 0 {
                let s = Int(keyStart[slot]), l = Int(keyLength[slot])
                if l == piece.count && keyBytes[s ..< s + l].elementsEqual(piece) { break }
                slot = (slot + 1) & mask
            }
            if keyStart[slot] < 0 {
                keyStart[slot] = Int32(keyBytes.count)
                keyLength[slot] = Int32(piece.count)
                keyBytes.append(contentsOf: piece)
            }
            ids[slot] = Int32(id)
        }
        self.keyBytes = keyBytes
        self.keyStart = keyStart
        self.keyLength = keyLength
        self.ids = ids
        self.mask = mask
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = FNV1a.hash(bytes)
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    /// The id of the piece `bytes[0 ..< count]`, or -1.
    @inline(__always)
    func id(_ bytes: UnsafePointer<UInt8>, count: Int) -> Int32 {
        let key = UnsafeBufferPointer(start: bytes, count: count)
        var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
        return keyStart.withUnsafeBufferPointer { starts in
            keyLength.withUnsafeBufferPointer { lengths in
                keyBytes.withUnsafeBufferPointer { kb in
                    while true {
                        let s = starts[slot]
                        if s < 0 { return -1 }
                        if Int(lengths[slot]) == count,
                           count == 0 || memcmp(kb.baseAddress! + Int(s), bytes, count) == 0 {
                            return ids[slot]
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    /// The id of a piece given as an array, or -1.
    func id(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return -1 }
            return id(base, count: b.count)
        }
    }
}
