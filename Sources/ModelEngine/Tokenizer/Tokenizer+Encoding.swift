import Foundation

extension Tokenizer {
    /// Token ids of `text`, exactly as llama.cpp's `llama_tokenize(text, add_special: true,
    /// parse_special:)`: BOS first when the model asks for it (`addBosToken`), special-token
    /// text matched as one token when `parseSpecial` (user-defined tokens always are).
    public func encode(_ text: String, parseSpecial: Bool = true) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(utf8: $0, parseSpecial: parseSpecial) }
    }

    /// Token ids of valid UTF-8 bytes (see `encode(_:parseSpecial:)`).
    func encode(utf8 bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 4)
        if addBosToken, let bos = bosId { out.append(bos) }
        guard bytes.count > 0, let base = bytes.baseAddress else { return out }
        var state = EncodeState()
        for fragment in partition(base, count: bytes.count, parseSpecial: parseSpecial) {
            if fragment.token >= 0 {
                out.append(fragment.token)
            } else {
                let raw = UnsafeBufferPointer(start: base + fragment.start, count: fragment.end - fragment.start)
                encodeText(raw, state: &state, into: &out)
            }
        }
        return out
    }

    /// Per-call work buffers.
    struct EncodeState {
        var pre = PreTokenizer.Scratch()
        var wordEnds: [Int] = []
        var initial: [Int32] = []
        var merged: [Int32] = []
        var merger = BytePairMerger()
    }

    /// A span of the input: plain text (`token` = -1) or a special token.
    struct Fragment {
        var start: Int
        var end: Int
        var token: Int32
    }

    /// Cuts special tokens out of the text, longest token first, each at every
    /// occurrence left to right (llama.cpp's `tokenizer_st_partition`).
    func partition(_ base: UnsafePointer<UInt8>, count: Int, parseSpecial: Bool) -> [Fragment] {
        var fragments = [Fragment(start: 0, end: count, token: -1)]
        var next: [Fragment] = []
        for special in specialTokens where parseSpecial || special.isUserDefined {
            var changed = false
            next.removeAll(keepingCapacity: true)
            special.bytes.withUnsafeBufferPointer { needle in
                for f in fragments {
                    guard f.token < 0 else { next.append(f); continue }
                    var s = f.start
                    while let m = Self.find(needle, in: base, from: s, to: f.end) {
                        if m > s { next.append(Fragment(start: s, end: m, token: -1)) }
                        next.append(Fragment(start: m, end: m + needle.count, token: special.id))
                        s = m + needle.count
                        changed = true
                    }
                    if s < f.end { next.append(Fragment(start: s, end: f.end, token: -1)) }
                }
            }
            if changed { swap(&fragments, &next) }
        }
        return fragments
    }

    /// First index ≥ `from` where `needle` occurs entirely before `to`.
    @inline(__always)
    static func find(_ needle: UnsafeBufferPointer<UInt8>, in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let n = needle.count
        guard n > 0, to - from >= n, let needleBase = needle.baseAddress else { return nil }
        let lastStart = to - n
        var p = from
        while p <= lastStart {
            guard let hit = memchr(base + p, Int32(needle[0]), lastStart - p + 1) else { return nil }
            let index = hit.assumingMemoryBound(to: UInt8.self) - UnsafeMutablePointer(mutating: base)
            if memcmp(base + index, needleBase, n) == 0 { return index }
            p = index + 1
        }
        return nil
    }

    /// Pre-tokenizes plain text and appends the BPE tokens of every word.
    func encodeText(_ bytes: UnsafeBufferPointer<UInt8>, state: inout EncodeState, into out: inout [Int32]) {
        state.wordEnds.removeAll(keepingCapacity: true)
        preTokenizer.split(bytes, scratch: &state.pre, wordEnds: &state.wordEnds)
        var start = 0
        for end in state.wordEnds {
            defer { start = end }
            if end - start == 1 {
                appendFinal(byteSymbol[Int(bytes[start])], into: &out)
                continue
            }
            let word = UnsafeBufferPointer(rebasing: bytes[start ..< end])
            let hash = WordCache.hash(word)
            if wordCache.lookup(word, hash: hash, into: &out) { continue }
            state.initial.removeAll(keepingCapacity: true)
            for b in word { state.initial.append(byteSymbol[Int(b)]) }
            state.merged.removeAll(keepingCapacity: true)
            state.initial.withUnsafeBufferPointer { initial in
                state.merger.merge(initial, table: merges, into: &state.merged)
            }
            let first = out.count
            for id in state.merged { appendFinal(id, into: &out) }
            wordCache.insert(word, hash: hash, ids: out[first...])
        }
    }

    /// Appends a merged symbol: itself when it is a token, else llama.cpp's byte fallback.
    @inline(__always)
    private func appendFinal(_ id: Int32, into out: inout [Int32]) {
        if Int(id) < vocabSize {
            out.append(id)
        } else {
            out.append(contentsOf: fallbackIds[Int(id) - vocabSize])
        }
    }
}
