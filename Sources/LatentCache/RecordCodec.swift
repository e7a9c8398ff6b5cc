import Foundation

/// The binary content of one latent record (records.bin), before tokens are attached. Version 1 and
/// version 2 records of the same latent decode to the same value.
///
/// Version 1 layout (little-endian; version 2 in RecordCodec+V2.swift), see docs/cache-format.md:
/// header (48 bytes): magic "FSLR", u32 latent, u32 window length L, u32 window count W,
/// u32 top count T, u32 quantile count Q, u32 random count R, u32 histogram bins H,
/// f32 histogram upper bound, u32 reserved, u64 active-window count;
/// then Q × {u32 slice size, u32 sampled count, f32 strongest, f32 weakest};
/// H × u32 bin counts; W × {u64 window start, f32 window max, u32 reserved};
/// W × L × f16 activations; T × u32 window-table indices; Σ sampled × u32 window-table indices
/// (quantile 0 first); R × u64 starts of non-activating windows.
struct RecordContent: Equatable {
    struct Window: Equatable {
        var start: UInt64
        var maxActivation: Float
        /// L half-float bit patterns.
        var activations: [UInt16]
    }
    struct Quantile: Equatable {
        var sliceSize: UInt32
        var strongest: Float
        var weakest: Float
        var windowIndices: [UInt32]
    }

    var latent: UInt32
    var windowLength: Int
    var activeWindowCount: UInt64
    var histogramUpper: Float
    var histogram: [UInt32]
    var quantiles: [Quantile]
    var windows: [Window]
    var top: [UInt32]
    var random: [UInt64]

    static let magic = "FSLR"

    /// The record bytes in format `version` (1 or 2). Version 2 needs a window length ≤ 255 (checked
    /// when a build starts).
    func encoded(version: Int) -> [UInt8] {
        version == 1 ? encodedV1() : encodedV2()
    }

    /// Decodes and validates a record of format `version`; `path` and `latent` go into error messages.
    static func decode(_ b: UnsafeRawBufferPointer, version: Int, latent expected: Int, tokenCount: Int, path: String) throws -> RecordContent {
        version == 1 ? try decodeV1(b, latent: expected, tokenCount: tokenCount, path: path)
            : try decodeV2(b, latent: expected, tokenCount: tokenCount, path: path)
    }

    func encodedV1() -> [UInt8] {
        let sampled = quantiles.reduce(0) { $0 + $1.windowIndices.count }
        let size = CacheFormat.recordHeaderSize + 16 * quantiles.count + 4 * histogram.count + 16 * windows.count
            + 2 * windowLength * windows.count + 4 * top.count + 4 * sampled + 8 * random.count
        var w = ByteWriter(capacity: size)
        w.ascii(RecordContent.magic)
        w.u32(latent); w.u32(UInt32(windowLength)); w.u32(UInt32(windows.count)); w.u32(UInt32(top.count))
        w.u32(UInt32(quantiles.count)); w.u32(UInt32(random.count)); w.u32(UInt32(histogram.count))
        w.f32(histogramUpper); w.u32(0); w.u64(activeWindowCount)
        for q in quantiles { w.u32(q.sliceSize); w.u32(UInt32(q.windowIndices.count)); w.f32(q.strongest); w.f32(q.weakest) }
        for c in histogram { w.u32(c) }
        for win in windows { w.u64(win.start); w.f32(win.maxActivation); w.u32(0) }
        for win in windows { for a in win.activations { w.u16(a) } }
        for t in top { w.u32(t) }
        for q in quantiles { for i in q.windowIndices { w.u32(i) } }
        for r in random { w.u64(r) }
        return w.bytes
    }

    /// Decodes and validates a version 1 record.
    static func decodeV1(_ b: UnsafeRawBufferPointer, latent expected: Int, tokenCount: Int, path: String) throws -> RecordContent {
        func bad(_ r: String) -> CacheError { .corrupt(path: path, reason: "record of latent \(expected): \(r)") }
        guard b.count >= CacheFormat.recordHeaderSize else { throw bad("\(b.count) bytes, shorter than its header") }
        guard b.fourCC(0) == magic else { throw bad("magic \(b.fourCC(0)), expected \(magic)") }
        let latent = b.u32(4)
        guard Int(latent) == expected else { throw bad("it says it belongs to latent \(latent)") }
        let L = Int(b.u32(8)), W = Int(b.u32(12)), T = Int(b.u32(16)), Q = Int(b.u32(20)), R = Int(b.u32(24)), H = Int(b.u32(28))
        guard L >= 1, L <= 4096 else { throw bad("window length \(L)") }
        var o = CacheFormat.recordHeaderSize
        // Sizes are bounded by the record length (itself < 4 GiB), so these products cannot overflow Int.
        func need(_ n: Int, _ what: String) throws {
            guard n >= 0, o + n <= b.count else { throw bad("\(what) needs \(n) bytes at offset \(o); record has \(b.count)") }
        }
        try need(16 * Q, "quantile table")
        var quantiles: [Quantile] = []
        quantiles.reserveCapacity(Q)
        var sampledTotal = 0
        var sampledCounts: [Int] = []
        for q in 0 ..< Q {
            let qo = o + 16 * q
            let n = Int(b.u32(qo + 4))
            sampledCounts.append(n)
            sampledTotal += n
            quantiles.append(Quantile(sliceSize: b.u32(qo), strongest: b.f32(qo + 8), weakest: b.f32(qo + 12), windowIndices: []))
        }
        o += 16 * Q
        try need(4 * H, "histogram")
        var histogram = [UInt32](repeating: 0, count: H)
        for i in 0 ..< H { histogram[i] = b.u32(o + 4 * i) }
        o += 4 * H
        try need(16 * W, "window table")
        try need(16 * W + 2 * L * W + 4 * T + 4 * sampledTotal + 8 * R, "window data")
        let expectedSize = o + 16 * W + 2 * L * W + 4 * T + 4 * sampledTotal + 8 * R
        guard expectedSize == b.count else { throw bad("sections add up to \(expectedSize) bytes, record has \(b.count)") }
        var windows: [Window] = []
        windows.reserveCapacity(W)
        let actBase = o + 16 * W
        for i in 0 ..< W {
            let start = b.u64(o + 16 * i)
            guard start % UInt64(L) == 0, start <= UInt64(max(0, tokenCount - L)), tokenCount >= L else {
                throw bad("window \(i) starts at token \(start), outside the \(tokenCount)-token store or not aligned to \(L)")
            }
            var acts = [UInt16](repeating: 0, count: L)
            let ao = actBase + 2 * L * i
            for j in 0 ..< L { acts[j] = b.u16(ao + 2 * j) }
            windows.append(Window(start: start, maxActivation: b.f32(o + 16 * i + 8), activations: acts))
        }
        o = actBase + 2 * L * W
        func index(_ at: Int) throws -> UInt32 {
            let v = b.u32(at)
            guard Int(v) < W else { throw bad("window index \(v) out of range (window table has \(W))") }
            return v
        }
        var top: [UInt32] = []
        top.reserveCapacity(T)
        for i in 0 ..< T { top.append(try index(o + 4 * i)) }
        o += 4 * T
        for q in 0 ..< Q {
            var idx: [UInt32] = []
            idx.reserveCapacity(sampledCounts[q])
            for i in 0 ..< sampledCounts[q] { idx.append(try index(o + 4 * i)) }
            o += 4 * sampledCounts[q]
            quantiles[q].windowIndices = idx
        }
        var random: [UInt64] = []
        random.reserveCapacity(R)
        for i in 0 ..< R {
            let s = b.u64(o + 8 * i)
            guard s % UInt64(L) == 0, tokenCount >= L, s <= UInt64(tokenCount - L) else {
                throw bad("random window \(i) starts at token \(s), outside the \(tokenCount)-token store")
            }
            random.append(s)
        }
        return RecordContent(latent: latent, windowLength: L, activeWindowCount: b.u64(40), histogramUpper: b.f32(32),
                             histogram: histogram, quantiles: quantiles, windows: windows, top: top, random: random)
    }
}
