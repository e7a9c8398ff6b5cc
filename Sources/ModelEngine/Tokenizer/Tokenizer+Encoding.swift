import Foundation

extension Tokenizer {
    /// Token ids of `text`, exactly as llama.cpp's `llama_tokenize(text, add_special: addBos,
    /// parse_special:)` (or the `tokenizers` library's `encode` for a `tokenizer.json`):
    /// BOS first when `addBos` and the model asks for it (`addBosToken`), special-token
    /// text matched as one token when `parseSpecial` (user-defined tokens always are).
    public func encode(_ text: String, parseSpecial: Bool = true, addBos: Bool = true) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(utf8: $0, parseSpecial: parseSpecial, addBos: addBos) }
    }

    /// Token ids of valid UTF-8 bytes (see `encode(_:parseSpecial:addBos:)`).
    func encode(utf8 bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, addBos: Bool = true) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 4)
        if addBos && addBosToken, let bos = bosId { out.append(bos) }
        guard bytes.count > 0, let base = bytes.baseAddress else { return out }
        var state = EncodeState()
        if options.huggingFaceAddedTokens {
            encodeHuggingFace(base, count: bytes.count, parseSpecial: parseSpecial, state: &state, into: &out)
            return out
        }
        var previousIsSpecial = true
        for fragment in partition(base, count: bytes.count, parseSpecial: parseSpecial) {
            if fragment.token >= 0 {
                out.append(fragment.token)
                previousIsSpecial = true
                continue
            }
            let raw = UnsafeBufferPointer(start: base + fragment.start, count: fragment.end - fragment.start)
            if algorithm == .sentencePiece {
                encodeSentencePiece(raw, spacePrefix: options.addSpacePrefix && previousIsSpecial, state: &state, into: &out)
            } else {
                encodeText(raw, state: &state, into: &out)
            }
            previousIsSpecial = false
        }
        return out
    }

    /// llama.cpp's SPM path for one text fragment: optional leading space, spaces as `▁`,
    /// then merging by score.
    func encodeSentencePiece(_ raw: UnsafeBufferPointer<UInt8>, spacePrefix: Bool, state: inout EncodeState,
                             into out: inout [Int32]) {
        state.text.removeAll(keepingCapacity: true)
        if spacePrefix { state.text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in raw {
            if b == 0x20 { state.text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { state.text.append(b) }
        }
        state.text.withUnsafeBufferPointer { text in
            state.spm.tokenize(text, pieces: pieces, scores: scores, byteTokens: byteTokens, into: &out)
        }
    }

    /// Per-call work buffers.
    struct EncodeState {
        var pre = PreTokenizer.Scratch()
        var wordEnds: [Int] = []
        var initial: [Int32] = []
        var merged: [Int32] = []
        var merger = BytePairMerger()
        var spm = SentencePieceMerger()
        /// Escaped or normalized text.
        var text: [UInt8] = []
        var normalized: [UInt8] = []
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
            if end - start == 1 && algorithm == .byteLevelBPE {
                appendFinal(byteSymbol[Int(bytes[start])], into: &out)
                continue
            }
            encodeWord(UnsafeBufferPointer(rebasing: bytes[start ..< end]), state: &state, into: &out)
        }
    }

    /// Appends the tokens of one pre-tokenized word (from the cache, or merged).
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, state: inout EncodeState, into out: inout [Int32]) {
        guard let base = word.baseAddress else { return }
        let hash = WordCache.hash(word)
        if wordCache.lookup(word, hash: hash, into: &out) { return }
        let first = out.count
        if options.ignoreMerges, case let id = pieces.id(base, count: word.count), id >= 0 {
            out.append(id)
        } else if algorithm == .byteLevelBPE {
            state.initial.removeAll(keepingCapacity: true)
            for b in word { state.initial.append(byteSymbol[Int(b)]) }
            state.merged.removeAll(keepingCapacity: true)
            state.initial.withUnsafeBufferPointer { initial in
                state.merger.merge(initial, table: merges, into: &state.merged)
            }
            for id in state.merged { appendFinal(id, into: &out) }
        } else {
            initialCharacterSymbols(word, into: &state.initial)
            state.initial.withUnsafeBufferPointer { initial in
                state.merger.merge(initial, table: merges, into: &out)
            }
        }
        wordCache.insert(word, hash: hash, ids: out[first...])
    }

    /// Character BPE's first symbols: each UTF-8 character's piece, else its bytes'
    /// `<0xXX>` tokens (when all exist), else the unknown token (consecutive ones fused).
    func initialCharacterSymbols(_ word: UnsafeBufferPointer<UInt8>, into initial: inout [Int32]) {
        initial.removeAll(keepingCapacity: true)
        guard let base = word.baseAddress else { return }
        var i = 0
        let n = word.count
        var previousUnknown = false
        while i < n {
            let b = word[i]
            let len = min(n - i, b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4)
            let id = pieces.id(base + i, count: len)
            if id >= 0 {
                initial.append(id)
                previousUnknown = false
            } else if (i ..< i + len).allSatisfy({ byteTokens[Int(word[$0])] >= 0 }) {
                for k in i ..< i + len { initial.append(byteTokens[Int(word[k])]) }
                previousUnknown = false
            } else if let unk = options.unknownFallback {
                if !previousUnknown { initial.append(unk) }
                previousUnknown = true
            }
            i += len
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
