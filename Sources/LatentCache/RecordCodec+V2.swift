import Foundation

/// Version 2 of the latent record: the same content as version 1 in a compact layout.
///
/// Layout (little-endian), see docs/cache-format.md:
/// header (48 bytes): magic "FSLR", u32 latent, u32 window length L (≤ 255), u32 window count W,
/// u32 top count T, u32 quantile count Q, u32 random count R, u32 histogram bins H,
/// f32 histogram upper bound, u32 flags (bit 0: window-table indices are u32), u64 active-window count;
/// then Q × {u32 slice size, u32 sampled count, f32 strongest, f32 weakest}; H × u32 bin counts;
/// W × {u32 window number, f32 window max}; per window {u8 n, n × u8 positions (strictly ascending,
/// < L), n × f16 values (> 0)}; T indices; Σ sampled indices (quantile 0 first), indices u16
/// (u32 when flagged; always when W > 65,535); R × u32 window numbers of non-activating windows.
extension RecordContent {
    /// Record flag: the top and quantile lists hold u32 window-table indices instead of u16.
    static let flagWideIndices: UInt32 = 1

    /// Half-float bit patterns a version 2 record may store: finite and > 0.
    static let positiveHalfBits: ClosedRange<UInt16> = 0x0001 ... 0x7BFF

    func encodedV2() -> [UInt8] {
        let L = windowLength
        let wide = windows.count > CacheFormat.maxWindowsFor16BitIndices
        let indexWidth = wide ? 4 : 2
        let sampled = quantiles.reduce(0) { $0 + $1.windowIndices.count }
        var nonzero = 0
        for win in windows { for a in win.activations where a != 0 { nonzero += 1 } }
        let size = CacheFormat.recordHeaderSize + 16 * quantiles.count + 4 * histogram.count + 8 * windows.count
            + windows.count + 3 * nonzero + indexWidth * (top.count + sampled) + 4 * random.count
        var w = ByteWriter(capacity: size)
        w.ascii(RecordContent.magic)
        w.u32(latent); w.u32(UInt32(truncatingIfNeeded: L)); w.u32(UInt32(truncatingIfNeeded: windows.count))
        w.u32(UInt32(truncatingIfNeeded: top.count)); w.u32(UInt32(truncatingIfNeeded: quantiles.count))
        w.u32(UInt32(truncatingIfNeeded: random.count)); w.u32(UInt32(truncatingIfNeeded: histogram.count))
        w.f32(histogramUpper); w.u32(wide ? RecordContent.flagWideIndices : 0); w.u64(activeWindowCount)
        for q in quantiles {
            w.u32(q.sliceSize); w.u32(UInt32(truncatingIfNeeded: q.windowIndices.count)); w.f32(q.strongest); w.f32(q.weakest)
        }
        for c in histogram { w.u32(c) }
        let windowLength64 = UInt64(max(1, L))
        for win in windows { w.u32(UInt32(truncatingIfNeeded: win.start / windowLength64)); w.f32(win.maxActivation) }
        for win in windows {
            var n = 0
            for a in win.activations where a != 0 { n += 1 }
            w.u8(UInt8(truncatingIfNeeded: n))
            for (j, a) in win.activations.enumerated() where a != 0 { w.u8(UInt8(truncatingIfNeeded: j)) }
            for a in win.activations where a != 0 { w.u16(a) }
        }
        func index(_ i: UInt32) { if wide { w.u32(i) } else { w.u16(UInt16(truncatingIfNeeded: i)) } }
        for t in top { index(t) }
        for q in quantiles { for i in q.windowIndices { index(i) } }
        for r in random { w.u32(UInt32(truncatingIfNeeded: r / windowLength64)) }
        return w.bytes
    }

    /// Decodes and validates a version 2 record: counts, positions, values, indices, window numbers and
    /// the exact total size; any violation is a `corrupt` error naming the latent.
    static func decodeV2(_ b: UnsafeRawBufferPointer, latent expected: Int, tokenCount: Int, path: String) throws -> RecordContent {
        func bad(_ r: String) -> CacheError { .corrupt(path: path, reason: "record of latent \(expected): \(r)") }
        guard b.count >= CacheFormat.recordHeaderSize else { throw bad("\(b.count) bytes, shorter than its header") }
        guard b.fourCC(0) == magic else { throw bad("magic \(b.fourCC(0)), expected \(magic)") }
        let latent = b.u32(4)
        guard Int(latent) == expected else { throw bad("it says it belongs to latent \(latent)") }
        let L = Int(b.u32(8)), W = Int(b.u32(12)), T = Int(b.u32(16)), Q = Int(b.u32(20)), R = Int(b.u32(24)), H = Int(b.u32(28))
        let flags = b.u32(36)
        guard L >= 1, L <= CacheFormat.maxWindowLengthV2 else { throw bad("window length \(L), expected 1…\(CacheFormat.maxWindowLengthV2)") }
        guard flags & ~RecordContent.flagWideIndices == 0 else { throw bad(String(format: "unknown flags 0x%08x", flags)) }
        let wide = flags & RecordContent.flagWideIndices != 0
        guard wide || W <= CacheFormat.maxWindowsFor16BitIndices else {
            throw bad("\(W) windows cannot be addressed by the 16-bit indices its flags declare")
        }
        let indexWidth = wide ? 4 : 2
        var o = CacheFormat.recordHeaderSize
        // Every count is a u32 and each section is checked against the record length (< 4 GiB) before
        // the next one is sized, so no product below can overflow Int.
        func need(_ n: Int, _ what: String) throws {
            guard n >= 0, o + n <= b.count else { throw bad("\(what) needs \(n) bytes at offset \(o); record has \(b.count)") }
        }
        // A window number is valid when its whole window lies in the token store.
        let windowsInStore = tokenCount / L

        try need(16 * Q, "quantile table")
        var quantiles: [Quantile] = []
        quantiles.reserveCapacity(Q)
        var sampledCounts: [Int] = []
        sampledCounts.reserveCapacity(Q)
        var sampledTotal = 0
        for q in 0 ..< Q {
            let qo = o + 16 * q
            let n = Int(b.u32(qo + 4))
            sampledCounts.append(n)
            sampledTotal += n
            guard sampledTotal <= b.count else { throw bad("quantile lists claim \(sampledTotal) windows, more than the record's \(b.count) bytes hold") }
            quantiles.append(Quantile(sliceSize: b.u32(qo), strongest: b.f32(qo + 8), weakest: b.f32(qo + 12), windowIndices: []))
        }
        o += 16 * Q
        try need(4 * H, "histogram")
        var histogram = [UInt32](repeating: 0, count: H)
        for i in 0 ..< H { histogram[i] = b.u32(o + 4 * i) }
        o += 4 * H
        try need(8 * W, "window table")
        let tableBase = o
        o += 8 * W

        var windows: [Window] = []
        windows.reserveCapacity(W)
        for i in 0 ..< W {
            let number = Int(b.u32(tableBase + 8 * i))
            guard number < windowsInStore else {
                throw bad("window \(i) is window number \(number), outside the \(tokenCount)-token store (\(windowsInStore) windows of \(L))")
            }
            try need(1, "the nonzero count of window \(i)")
            let n = Int(b[o])
            guard n <= L else { throw bad("window \(i) has a nonzero count of \(n), more than the window length \(L)") }
            try need(1 + 3 * n, "the activations of window \(i)")
            var acts = [UInt16](repeating: 0, count: L)
            var previous = -1
            for k in 0 ..< n {
                let p = Int(b[o + 1 + k])
                guard p > previous, p < L else {
                    throw bad("window \(i): position \(p) after \(previous) is not strictly ascending and below \(L)")
                }
                let v = b.u16(o + 1 + n + 2 * k)
                guard positiveHalfBits.contains(v) else {
                    throw bad(String(format: "window \(i): activation bits 0x%04x at position \(p) are not a finite value > 0", v))
                }
                acts[p] = v
                previous = p
            }
            o += 1 + 3 * n
            windows.append(Window(start: UInt64(number * L), maxActivation: b.f32(tableBase + 8 * i + 4), activations: acts))
        }

        let rest = indexWidth * (T + sampledTotal) + 4 * R
        guard o + rest == b.count else {
            throw bad("sections add up to \(o + rest) bytes, record has \(b.count)")
        }
        func index(_ at: Int) throws -> UInt32 {
            let v = wide ? b.u32(at) : UInt32(b.u16(at))
            guard Int(v) < W else { throw bad("window index \(v) out of range (window table has \(W))") }
            return v
        }
        var top: [UInt32] = []
        top.reserveCapacity(T)
        for i in 0 ..< T { top.append(try index(o + indexWidth * i)) }
        o += indexWidth * T
        for q in 0 ..< Q {
            var idx: [UInt32] = []
            idx.reserveCapacity(sampledCounts[q])
            for i in 0 ..< sampledCounts[q] { idx.append(try index(o + indexWidth * i)) }
            o += indexWidth * sampledCounts[q]
            quantiles[q].windowIndices = idx
        }
        var random: [UInt64] = []
        random.reserveCapacity(R)
        for i in 0 ..< R {
            let number = Int(b.u32(o + 4 * i))
            guard number < windowsInStore else {
                throw bad("random window \(i) is window number \(number), outside the \(tokenCount)-token store (\(windowsInStore) windows of \(L))")
            }
            random.append(UInt64(number * L))
        }
        return RecordContent(latent: latent, windowLength: L, activeWindowCount: b.u64(40), histogramUpper: b.f32(32),
                             histogram: histogram, quantiles: quantiles, windows: windows, top: top, random: random)
    }
}
