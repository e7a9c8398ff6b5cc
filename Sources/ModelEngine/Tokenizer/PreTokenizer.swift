/// Splits text into words before BPE, exactly as llama.cpp does for byte-level
/// BPE vocabularies.
///
/// `.gpt2`: with `isolateNumbers` (llama.cpp's STARCODER/REFACT/SMOLLM pre-types) the text
/// is first cut so that every numeric scalar (`\p{N}`) stands alone; each resulting
/// segment is then split by the GPT-2 pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// where a segment's end counts as the end of the text (so `"  1"` gives `"  "`, `"1"`).
///
/// `.llama3`: the Llama 3 / Qwen2 pattern (see `splitLlama3`), numbers in runs of at
/// most `maxDigits`. `.whole`: the text is one word.
struct PreTokenizer: Sendable {
    enum Pattern: Sendable, Equatable {
        case gpt2(isolateNumbers: Bool)
        case llama3(maxDigits: Int)
        case whole
    }

    let pattern: Pattern

    init(pattern: Pattern) { self.pattern = pattern }

    init(isolateNumbers: Bool) { pattern = .gpt2(isolateNumbers: isolateNumbers) }

    var isolateNumbers: Bool { pattern == .gpt2(isolateNumbers: true) }

    /// Reusable per-call buffers (scalars, their classes, their UTF-8 offsets).
    struct Scratch {
        var scalars: [UInt32] = []
        var classes: [ScalarClass] = []
        var offsets: [Int] = []
    }

    /// Appends to `wordEnds` the end byte offset (relative to `bytes`) of every word of
    /// `bytes`, which must be valid UTF-8. Words are contiguous and cover all bytes.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, wordEnds: inout [Int]) {
        if case .whole = pattern {
            if bytes.count > 0 { wordEnds.append(bytes.count) }
            return
        }
        decode(bytes, into: &scratch)
        let n = scratch.scalars.count
        guard n > 0 else { return }
        if case let .llama3(maxDigits) = pattern {
            scratch.scalars.withUnsafeBufferPointer { cps in
                scratch.classes.withUnsafeBufferPointer { cls in
                    scratch.offsets.withUnsafeBufferPointer { offs in
                        Self.splitLlama3(cps, cls, offs, maxDigits: maxDigits, &wordEnds)
                    }
                }
            }
            return
        }
        let isolateNumbers = self.isolateNumbers
        scratch.scalars.withUnsafeBufferPointer { cps in
            scratch.classes.withUnsafeBufferPointer { cls in
                scratch.offsets.withUnsafeBufferPointer { offs in
                    var segStart = 0
                    while segStart < n {
                        if isolateNumbers && cls[segStart] == .number {
                            wordEnds.append(offs[segStart + 1])
                            segStart += 1
                            continue
                        }
                        var segEnd = segStart + 1
                        if isolateNumbers {
                            while segEnd < n && cls[segEnd] != .number { segEnd += 1 }
                        } else {
                            segEnd = n
                        }
                        Self.splitGPT2(cps, cls, offs, segStart, segEnd, &wordEnds)
                        segStart = segEnd
                    }
                }
            }
        }
    }

    /// The GPT-2 pattern on scalars `[start, end)` (llama.cpp's `unicode_regex_split_custom_gpt2`).
    @inline(__always)
    private static func splitGPT2(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<ScalarClass>,
                                  _ offs: UnsafeBufferPointer<Int>, _ start: Int, _ end: Int,
                                  _ wordEnds: inout [Int]) {
        @inline(__always) func classAt(_ p: Int) -> ScalarClass { p < end ? cls[p] : .outOfRange }
        let apostrophe: UInt32 = 0x27, space: UInt32 = 0x20
        var pos = start
        while pos < end {
            let c = cps[pos]
            if c == apostrophe && pos + 1 < end {
                let n1 = cps[pos + 1]
                // 's 't 'm 'd
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                    pos += 2
                    wordEnds.append(offs[pos])
                    continue
                }
                if pos + 2 < end {
                    let n2 = cps[pos + 2]
                    // 're 've 'll
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3
                        wordEnds.append(offs[pos])
                        continue
                    }
                }
            }
            let lead = c == space ? classAt(pos + 1) : cls[pos]
            switch lead {
            case .letter, .number, .other:
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
                if c == space { pos += 1 }
                while classAt(pos) == lead { pos += 1 }
                wordEnds.append(offs[pos])
                continue
            case .whitespace, .outOfRange:
                break
            }
            var spaces = 0
            while classAt(pos + spaces) == .whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                // `\s+(?!\S)`: leave the last white space to the word that follows
                pos += spaces - 1
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1  // no pattern matches (cannot happen for in-range scalars)
            }
            wordEnds.append(offs[pos])
        }
    }

    /// Decodes valid UTF-8 into scalars, their classes and their byte offsets (one extra, the end).
    private func decode(_ bytes: UnsafeBufferPointer<UInt8>, into s: inout Scratch) {
        s.scalars.removeAll(keepingCapacity: true)
        s.classes.removeAll(keepingCapacity: true)
        s.offsets.removeAll(keepingCapacity: true)
        s.scalars.reserveCapacity(bytes.count)
        s.classes.reserveCapacity(bytes.count)
        s.offsets.reserveCapacity(bytes.count + 1)
        let count = bytes.count
        var i = 0
        while i < count {
            let b0 = UInt32(bytes[i])
            var value: UInt32
            var len: Int
            if b0 < 0x80 {
                value = b0; len = 1
            } else if b0 < 0xE0 {
                value = b0 & 0x1F; len = 2
            } else if b0 < 0xF0 {
                value = b0 & 0x0F; len = 3
            } else {
                value = b0 & 0x07; len = 4
            }
            if i + len > count { len = count - i }  // cannot happen for valid UTF-8
            var k = 1
            while k < len {
                value = (value << 6) | (UInt32(bytes[i + k]) & 0x3F)
                k += 1
            }
            s.scalars.append(value)
            s.classes.append(ScalarClass.of(value))
            s.offsets.append(i)
            i += len
        }
        s.offsets.append(count)
    }
}
