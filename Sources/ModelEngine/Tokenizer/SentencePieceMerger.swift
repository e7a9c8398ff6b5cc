/// SentencePiece-style merging of one text (llama.cpp's `llm_tokenizer_spm_session`):
/// start from the UTF-8 characters, repeatedly merge the adjacent pair whose
/// concatenation is a vocabulary piece with the highest score (the leftmost among
/// equals), then emit each symbol's token, or its bytes' `<0xXX>` tokens when the
/// symbol is no piece. A binary heap over the linked symbols, O(n log n); buffers are
/// reused between calls.
struct SentencePieceMerger {
    private var start: [Int32] = []
    private var length: [Int32] = []
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var heap: [Bigram] = []

    private struct Bigram {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// Whether `self` pops before `other`: higher score, then smaller left index.
        @inline(__always)
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Appends the tokens of `text` (already escaped: spaces as `▁`) to `out`.
    /// `byteTokens[b]` is the token of byte `b` (-1 when the vocabulary lacks it: dropped).
    mutating func tokenize(_ text: UnsafeBufferPointer<UInt8>, pieces: PieceTable, scores: [Float],
                           byteTokens: [Int32], into out: inout [Int32]) {
        guard let base = text.baseAddress, text.count > 0 else { return }
        start.removeAll(keepingCapacity: true)
        length.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        var offset = 0
        let count = text.count
        while offset < count {
            let b = text[offset]
            let len = min(count - offset, b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4)
            let index = Int32(start.count)
            start.append(Int32(offset))
            length.append(Int32(len))
            prev.append(index - 1)
            offset += len
            next.append(offset == count ? -1 : index + 1)
        }
        scores.withUnsafeBufferPointer { sc in
            for i in 1 ..< max(1, start.count) { addBigram(Int32(i - 1), Int32(i), base, pieces, sc) }
            while let top = pop() {
                let l = Int(top.left), r = Int(top.right)
                if length[l] == 0 || length[r] == 0 || length[l] + length[r] != top.size { continue }
                length[l] += length[r]
                length[r] = 0
                next[l] = next[r]
                if next[r] >= 0 { prev[Int(next[r])] = top.left }
                addBigram(prev[l], top.left, base, pieces, sc)
                addBigram(top.left, next[l], base, pieces, sc)
            }
        }
        var i: Int32 = 0
        while i >= 0 {
            let s = Int(start[Int(i)]), n = Int(length[Int(i)])
            let id = pieces.id(base + s, count: n)
            if id >= 0 {
                out.append(id)
            } else {
                for k in s ..< s + n where byteTokens[Int(text[k])] >= 0 { out.append(byteTokens[Int(text[k])]) }
            }
            i = next[Int(i)]
        }
    }

    @inline(__always)
    private mutating func addBigram(_ left: Int32, _ right: Int32, _ base: UnsafePointer<UInt8>,
                                    _ pieces: PieceTable, _ scores: UnsafeBufferPointer<Float>) {
        guard left >= 0, right >= 0 else { return }
        let size = length[Int(left)] + length[Int(right)]
        let id = pieces.id(base + Int(start[Int(left)]), count: Int(size))
        guard id >= 0 else { return }
        push(Bigram(score: scores[Int(id)], left: left, right: right, size: size))
    }

    private mutating func push(_ entry: Bigram) {
        heap.append(entry)
        var c = heap.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            if !heap[c].precedes(heap[p]) { break }
            heap.swapAt(p, c)
            c = p
        }
    }

    private mutating func pop() -> Bigram? {
        guard let last = heap.popLast() else { return nil }
        if heap.isEmpty { return last }
        let top = heap[0]
        heap[0] = last
        var p = 0
        let count = heap.count
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < count && heap[l].precedes(heap[m]) { m = l }
            if r < count && heap[r].precedes(heap[m]) { m = r }
            if m == p { break }
            heap.swapAt(p, m)
            p = m
        }
        return top
    }
}
