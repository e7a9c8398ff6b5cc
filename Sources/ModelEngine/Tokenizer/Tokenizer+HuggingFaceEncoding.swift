import Foundation

extension Tokenizer {
    /// The `tokenizers` library's pipeline: added tokens with `normalized: false` are cut
    /// out of the raw text (leftmost, longest), the rest is normalized, `normalized: true`
    /// added tokens are cut out of that, and each remaining piece is pre-tokenized and merged.
    func encodeHuggingFace(_ base: UnsafePointer<UInt8>, count: Int, parseSpecial: Bool, state: inout EncodeState,
                           into out: inout [Int32]) {
        let raw = addedTokenSpans(base, from: 0, to: count, normalized: false, parseSpecial: parseSpecial)
        for fragment in raw {
            if fragment.token >= 0 { out.append(fragment.token); continue }
            normalize(UnsafeBufferPointer(start: base + fragment.start, count: fragment.end - fragment.start),
                      into: &state.normalized)
            let normalized = state.normalized
            normalized.withUnsafeBufferPointer { text in
                guard let nb = text.baseAddress else { return }
                for piece in addedTokenSpans(nb, from: 0, to: text.count, normalized: true, parseSpecial: parseSpecial) {
                    if piece.token >= 0 { out.append(piece.token); continue }
                    let isFirst = fragment.start == 0 && piece.start == 0
                    encodePiece(UnsafeBufferPointer(start: nb + piece.start, count: piece.end - piece.start),
                                isFirst: isFirst, state: &state, into: &out)
                }
            }
        }
    }

    /// Pre-tokenizes and merges one normalized piece (Metaspace rewriting first, if any).
    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, isFirst: Bool, state: inout EncodeState,
                             into out: inout [Int32]) {
        guard piece.count > 0 else { return }
        guard let scheme = options.prependScheme else {
            encodeText(piece, state: &state, into: &out)
            return
        }
        state.text.removeAll(keepingCapacity: true)
        let startsWithMeta = piece.count >= 3 && piece[0] == 0xE2 && piece[1] == 0x96 && piece[2] == 0x81
        if !startsWithMeta && piece[0] != 0x20 && (scheme == .always || (scheme == .first && isFirst)) {
            state.text.append(contentsOf: [0xE2, 0x96, 0x81])
        }
        for b in piece {
            if b == 0x20 { state.text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { state.text.append(b) }
        }
        let text = state.text
        text.withUnsafeBufferPointer { encodeText($0, state: &state, into: &out) }
    }

    /// The normalizer applied to one piece of raw text.
    private func normalize(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        switch options.normalizer {
        case .none:
            out.append(contentsOf: raw)
        case .spacesToMetaspace:
            for b in raw {
                if b == 0x20 { out.append(contentsOf: [0xE2, 0x96, 0x81]) } else { out.append(b) }
            }
        case .nfc:
            if raw.allSatisfy({ $0 < 0x80 }) {
                out.append(contentsOf: raw)
            } else {
                out.append(contentsOf: String(decoding: raw, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
            }
        }
    }

    /// ASCII white space, which `lstrip` / `rstrip` added tokens absorb.
    @inline(__always)
    static func isStrippable(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// Spans of `base[from ..< to]`: added tokens (matched leftmost, longest first) and the
    /// text between them. Only tokens whose `normalized` flag equals `normalized` match.
    private func addedTokenSpans(_ base: UnsafePointer<UInt8>, from: Int, to: Int, normalized: Bool,
                                 parseSpecial: Bool) -> [Fragment] {
        var spans: [Fragment] = []
        var textStart = from
        var p = from
        while p < to {
            var matched: SpecialToken?
            for index in specialIndexByFirstByte[Int(base[p])] {
                let special = specialTokens[index]  // longest first
                guard special.normalized == normalized, parseSpecial || special.isUserDefined,
                      special.bytes.count <= to - p else { continue }
                let equal = special.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, base + p, $0.count) == 0 }
                if equal { matched = special; break }
            }
            if let special = matched {
                var start = p, end = p + special.bytes.count
                if special.leftStrip { while start > textStart && Self.isStrippable(base[start - 1]) { start -= 1 } }
                if special.rightStrip { while end < to && Self.isStrippable(base[end]) { end += 1 } }
                if start > textStart { spans.append(Fragment(start: textStart, end: start, token: -1)) }
                spans.append(Fragment(start: start, end: end, token: special.id))
                p = end
                textStart = p
            } else {
                p += 1
            }
        }
        if to > textStart { spans.append(Fragment(start: textStart, end: to, token: -1)) }
        return spans
    }
}
