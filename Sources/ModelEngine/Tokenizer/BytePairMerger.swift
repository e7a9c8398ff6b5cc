/// Byte-pair merging of one word: repeatedly merges the adjacent pair with the lowest
/// rank (the leftmost among equals), as llama.cpp's `llm_tokenizer_bpe_session` does.
///
/// Short words use a direct scan over a small array; long words (long runs of
/// white space or punctuation) use a linked list and a binary heap, O(n log n).
struct BytePairMerger {
    /// Words longer than this many symbols use the heap.
    static let scanLimit = 48
    /// Longer words (over a gigabyte) are merged in pieces of this many symbols.
    static let maxWordSymbols = 1 << 30

    private var symbols: [Int32] = []
    private var pairs: [UInt64] = []
    // Heap state for long words.
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var heap: [HeapEntry] = []

    private struct HeapEntry {
        /// rank << 32 | left index: the order llama.cpp's queue pops in.
        var key: UInt64
        var right: Int32
        var leftId: Int32
        var rightId: Int32
        var merged: Int32
    }

    /// Merges the initial symbols `initial` and appends the resulting symbol ids to `out`.
    mutating func merge(_ initial: UnsafeBufferPointer<Int32>, table: MergeTable, into out: inout [Int32]) {
        let n = initial.count
        if n == 0 { return }
        if n == 1 { out.append(initial[0]); return }
        if n > Self.maxWordSymbols {
            // Beyond any real text; merged in pieces so indices fit in 32 bits.
            var start = 0
            while start < n {
                let end = min(n, start + Self.maxWordSymbols)
                merge(UnsafeBufferPointer(rebasing: initial[start ..< end]), table: table, into: &out)
                start = end
            }
            return
        }
        if n <= Self.scanLimit {
            mergeByScan(initial, table: table, into: &out)
        } else {
            mergeByHeap(initial, table: table, into: &out)
        }
    }

    private mutating func mergeByScan(_ initial: UnsafeBufferPointer<Int32>, table: MergeTable, into out: inout [Int32]) {
        var n = initial.count
        symbols.removeAll(keepingCapacity: true)
        symbols.append(contentsOf: initial)
        pairs.removeAll(keepingCapacity: true)
        for i in 0 ..< n - 1 { pairs.append(table.lookup(symbols[i], symbols[i + 1])) }
        symbols.withUnsafeMutableBufferPointer { sym in
            pairs.withUnsafeMutableBufferPointer { pr in
                while n > 1 {
                    var best = MergeTable.none
                    var at = -1
                    for i in 0 ..< n - 1 where pr[i] < best {
                        best = pr[i]
                        at = i
                    }
                    if at < 0 { break }
                    sym[at] = MergeTable.mergedId(best)
                    // Drop symbol at+1 and the pair (at, at+1); pairs after it shift left.
                    var j = at + 1
                    while j < n - 1 { sym[j] = sym[j + 1]; j += 1 }
                    j = at + 1
                    while j < n - 2 { pr[j] = pr[j + 1]; j += 1 }
                    n -= 1
                    if at > 0 { pr[at - 1] = table.lookup(sym[at - 1], sym[at]) }
                    if at < n - 1 { pr[at] = table.lookup(sym[at], sym[at + 1]) }
                }
                for i in 0 ..< n { out.append(sym[i]) }
            }
        }
    }

    private mutating func mergeByHeap(_ initial: UnsafeBufferPointer<Int32>, table: MergeTable, into out: inout [Int32]) {
        let n = initial.count
        symbols.removeAll(keepingCapacity: true)
        symbols.append(contentsOf: initial)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        for i in 0 ..< n {
            prev.append(Int32(i - 1))
            next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        heap.removeAll(keepingCapacity: true)
        for i in 0 ..< n - 1 { push(left: Int32(i), right: Int32(i + 1), table: table) }
        while let top = pop() {
            let left = Int(top.key & 0xFFFF_FFFF)
            let right = Int(top.right)
            // Skip pairs made stale by an earlier merge (llama.cpp compares the texts).
            guard symbols[left] == top.leftId, symbols[right] == top.rightId, next[left] == top.right else { continue }
            symbols[left] = top.merged
            symbols[right] = -1
            let after = next[right]
            next[left] = after
            if after >= 0 { prev[Int(after)] = Int32(left) }
            if prev[left] >= 0 { push(left: prev[left], right: Int32(left), table: table) }
            if after >= 0 { push(left: Int32(left), right: after, table: table) }
        }
        var i: Int32 = 0
        while i >= 0 {
            out.append(symbols[Int(i)])
            i = next[Int(i)]
        }
    }

    private mutating func push(left: Int32, right: Int32, table: MergeTable) {
        let l = symbols[Int(left)], r = symbols[Int(right)]
        let packed = table.lookup(l, r)
        if packed == MergeTable.none { return }
        let entry = HeapEntry(key: (packed >> 32) << 32 | UInt64(UInt32(bitPattern: left)),
                              right: right, leftId: l, rightId: r, merged: MergeTable.mergedId(packed))
        heap.append(entry)
        var c = heap.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            if heap[p].key <= heap[c].key { break }
            heap.swapAt(p, c)
            c = p
        }
    }

    private mutating func pop() -> HeapEntry? {
        guard let last = heap.popLast() else { return nil }
        if heap.isEmpty { return last }
        let top = heap[0]
        heap[0] = last
        var p = 0
        let count = heap.count
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < count && heap[l].key < heap[m].key { m = l }
            if r < count && heap[r].key < heap[m].key { m = r }
            if m == p { break }
            heap.swapAt(p, m)
            p = m
        }
        return top
    }
}
