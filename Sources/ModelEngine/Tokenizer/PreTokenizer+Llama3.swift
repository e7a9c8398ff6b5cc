extension PreTokenizer {
    /// The Llama 3 pattern (llama.cpp's LLAMA3 and QWEN2 pre-types, Hugging Face's Split):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`, matched leftmost-first at each
    /// position (case-insensitivity is ASCII-only, as llama.cpp's `unicode_tolower` makes it).
    static func splitLlama3(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<ScalarClass>,
                            _ offs: UnsafeBufferPointer<Int>, maxDigits: Int, _ wordEnds: inout [Int]) {
        let end = cps.count
        @inline(__always) func classAt(_ p: Int) -> ScalarClass { p < end ? cls[p] : .outOfRange }
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { (0x41...0x5A).contains(c) ? c | 0x20 : c }
        @inline(__always) func isCRLF(_ c: UInt32) -> Bool { c == 0x0D || c == 0x0A }
        var pos = 0
        while pos < end {
            let c = cps[pos]
            let k = cls[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == 0x27 && pos + 1 < end {
                let n1 = lower(cps[pos + 1])
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                    pos += 2
                    wordEnds.append(offs[pos])
                    continue
                }
                if pos + 2 < end {
                    let n2 = lower(cps[pos + 2])
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3
                        wordEnds.append(offs[pos])
                        continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !isCRLF(c) && k != .number && (k == .letter || classAt(pos + 1) == .letter) {
                pos += 1
                while classAt(pos) == .letter { pos += 1 }
                wordEnds.append(offs[pos])
                continue
            }
            // \p{N}{1,maxDigits}
            if k == .number {
                var run = 0
                while classAt(pos) == .number {
                    pos += 1
                    run += 1
                    if run == maxDigits { wordEnds.append(offs[pos]); run = 0 }
                }
                if run > 0 { wordEnds.append(offs[pos]) }
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            if (c == 0x20 ? classAt(pos + 1) : k) == .other {
                if c == 0x20 { pos += 1 }
                while classAt(pos) == .other { pos += 1 }
                while pos < end && isCRLF(cps[pos]) { pos += 1 }
                wordEnds.append(offs[pos])
                continue
            }
            var spaces = 0
            var afterLastNewline = -1
            while classAt(pos + spaces) == .whitespace {
                if isCRLF(cps[pos + spaces]) { afterLastNewline = pos + spaces + 1 }
                spaces += 1
            }
            if afterLastNewline >= 0 {
                pos = afterLastNewline  // \s*[\r\n]+
            } else if spaces > 1 && pos + spaces < end {
                pos += spaces - 1  // \s+(?!\S)
            } else if spaces > 0 {
                pos += spaces  // \s+
            } else {
                pos += 1
            }
            wordEnds.append(offs[pos])
        }
    }
}
