import Foundation
import TensorFormats

/// Spill file of one part during a build: chunks of `{u32 bucket, u32 n}` followed by n entries of
/// `{u32 token position, u32 latent, f32 activation}`. A bucket is a range of `bucketWidth` latents;
/// entries are buffered per bucket so each chunk holds one bucket's entries in stream order.
final class SpillWriter {
    let latentCount: Int
    let bucketWidth: Int
    let bucketCount: Int
    static let chunkCapacity = 1024
    private let buffer: UnsafeMutablePointer<UInt32>
    private var fill: [Int]
    private let file: BufferedFileWriter
    var path: String { file.path }
    /// Bytes on disk after the last `sync`.
    var length: Int { file.length }

    init(path: String, latentCount: Int, keepingPrefix: Int?) throws {
        self.latentCount = latentCount
        bucketWidth = max(256, (latentCount + 255) / 256)
        bucketCount = (latentCount + bucketWidth - 1) / bucketWidth
        buffer = .allocate(capacity: bucketCount * SpillWriter.chunkCapacity * 3)
        fill = [Int](repeating: 0, count: bucketCount)
        file = try BufferedFileWriter(path: path, keepingPrefix: keepingPrefix, bufferLimit: 4 << 20)
    }

    deinit { buffer.deallocate() }

    @inline(__always)
    func append(position: UInt32, latent: UInt32, value: Float) {
        let b = Int(latent) / bucketWidth
        let f = fill[b]
        let p = buffer + 3 * (b * SpillWriter.chunkCapacity + f)
        p[0] = position; p[1] = latent; p[2] = value.bitPattern
        fill[b] = f + 1
        if f + 1 == SpillWriter.chunkCapacity { try? flushBucket(b) }
    }

    private var pendingError: Error?

    private func flushBucket(_ b: Int) throws {
        let n = fill[b]
        guard n > 0 else { return }
        var head = ByteWriter(capacity: 8)
        head.u32(UInt32(b)); head.u32(UInt32(n))
        do {
            try file.write(head.bytes)
            try file.write(UnsafeRawBufferPointer(start: buffer + 3 * b * SpillWriter.chunkCapacity, count: 12 * n))
        } catch { pendingError = error }
        fill[b] = 0
    }

    /// Flushes every bucket and fsyncs the file.
    func sync() throws {
        for b in 0 ..< bucketCount { try flushBucket(b) }
        if let e = pendingError { throw e }
        try file.sync()
    }
}

/// Turns one part's spill file into index.bin, records.bin, activations.bin and an empty annotation store.
struct PartFinalizer {
    let spill: SpillWriter
    let spec: PartSpec
    let partIndex: Int
    let directory: String
    let totalTokens: Int
    let options: BuildOptions

    func run(progress: (Int) -> Void) throws {
        try spill.sync()
        let map = try MappedFile(path: spill.path)
        let bytes = map.bytes
        let length = min(spill.length, map.count)

        // Chunk directory per bucket.
        var chunks = [[(offset: Int, count: Int)]](repeating: [], count: spill.bucketCount)
        var o = 0
        while o < length {
            guard o + 8 <= length else { throw CacheError.corrupt(path: spill.path, reason: "chunk header at \(o) cut off") }
            let b = Int(bytes.u32(o)), n = Int(bytes.u32(o + 4))
            guard b < spill.bucketCount, o + 8 + 12 * n <= length else {
                throw CacheError.corrupt(path: spill.path, reason: "chunk at \(o) (bucket \(b), \(n) entries) is invalid")
            }
            chunks[b].append((o + 8, n))
            o += 8 + 12 * n
        }

        let records = try BufferedFileWriter(path: directory + "/" + CacheFormat.recordsFile, bufferLimit: 4 << 20)
        try records.write([UInt8](repeating: 0, count: CacheFormat.headerSize))
        let acts: BufferedFileWriter? = options.keepAllActivations
            ? try BufferedFileWriter(path: directory + "/" + CacheFormat.activationsFile, bufferLimit: 4 << 20) : nil
        try acts?.write([UInt8](repeating: 0, count: CacheFormat.headerSize))
        var index = ByteWriter(capacity: CacheFormat.headerSize + CacheFormat.indexEntrySize * spec.latentCount)
        let version = options.formatVersion
        index.raw(FileHeader(kind: .index, version: version, count: UInt64(spec.latentCount), field1: UInt64(CacheFormat.indexEntrySize),
                             field2: UInt64(totalTokens), field3: UInt64(options.examples.windowLength)).encoded())

        // Buckets are independent: compute a batch of them on all cores, then append in order.
        let job = BucketJob(bytes: bytes, chunks: chunks, bucketWidth: spill.bucketWidth, latentCount: spec.latentCount,
                            totalWindows: totalTokens / options.examples.windowLength, examples: options.examples,
                            keepAll: options.keepAllActivations, rngSalt: UInt64(partIndex), formatVersion: version)
        let batch = max(1, ProcessInfo.processInfo.activeProcessorCount * 2)
        var first = 0
        while first < spill.bucketCount {
            let n = min(batch, spill.bucketCount - first)
            let outputs = job.compute(buckets: first ..< first + n)
            for out in outputs {
                if let e = out.error { throw e }
                let recBase = UInt64(records.length), actBase = UInt64(acts?.length ?? 0)
                try records.write(out.records)
                try acts?.write(out.activations)
                for var entry in out.entries {
                    entry.recordOffset += recBase
                    if entry.firingCount > 0, acts != nil { entry.activationsOffset += actBase }
                    entry.encode(into: &index)
                }
                progress(out.latentEnd)
            }
            first += n
        }
        try records.patch(FileHeader(kind: .records, version: version, count: UInt64(spec.latentCount), field1: UInt64(records.length - CacheFormat.headerSize)).encoded(), at: 0)
        try records.finish()
        if let acts {
            try acts.patch(FileHeader(kind: .activations, version: version, count: UInt64(spec.latentCount), field1: UInt64(acts.length - CacheFormat.headerSize)).encoded(), at: 0)
            try acts.finish()
        }
        try FileUtil.writeFile(index.bytes, to: directory + "/" + CacheFormat.indexFile)
        try AnnotationStore.create(directory: directory, latentCount: spec.latentCount, version: version)
    }

    /// Sorts `pos[s..<e]` by position (when needed) and merges duplicates (keeping the larger value).
    /// Returns the number of entries left, packed at `s`.
    static func normalise(_ pos: inout [UInt32], _ val: inout [Float], _ s: Int, _ e: Int) -> Int {
        var sorted = true
        if e - s > 1 { for i in s + 1 ..< e where pos[i] <= pos[i - 1] { sorted = false; break } }
        if sorted { return e - s }
        var pairs = (s ..< e).map { (pos[$0], val[$0]) }
        pairs.sort { $0.0 < $1.0 }
        var n = 0
        for (p, v) in pairs {
            if n > 0, pos[s + n - 1] == p { val[s + n - 1] = max(val[s + n - 1], v); continue }
            pos[s + n] = p; val[s + n] = v; n += 1
        }
        return n
    }
}

/// One bucket's finished records, activation lists and index entries (offsets relative to the bucket).
struct BucketOutput {
    var records: [UInt8] = []
    var activations: [UInt8] = []
    var entries: [IndexEntry] = []
    var latentEnd = 0
    var error: CacheError?
}

/// Read-only inputs of the per-bucket computation, shared by worker threads.
final class BucketJob: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    let chunks: [[(offset: Int, count: Int)]]
    let bucketWidth: Int
    let latentCount: Int
    let totalWindows: Int
    let examples: ExampleConfiguration
    let keepAll: Bool
    let rngSalt: UInt64
    let formatVersion: Int

    init(bytes: UnsafeRawBufferPointer, chunks: [[(offset: Int, count: Int)]], bucketWidth: Int, latentCount: Int,
         totalWindows: Int, examples: ExampleConfiguration, keepAll: Bool, rngSalt: UInt64, formatVersion: Int) {
        self.bytes = bytes; self.chunks = chunks; self.bucketWidth = bucketWidth; self.latentCount = latentCount
        self.totalWindows = totalWindows; self.examples = examples; self.keepAll = keepAll; self.rngSalt = rngSalt
        self.formatVersion = formatVersion
    }

    /// Computes the buckets in parallel; results in bucket order.
    func compute(buckets: Range<Int>) -> [BucketOutput] {
        /// Each worker writes only its own slot.
        final class Slots: @unchecked Sendable {
            let buffer: UnsafeMutableBufferPointer<BucketOutput>
            init(_ n: Int) { buffer = .allocate(capacity: n); buffer.initialize(repeating: BucketOutput()) }
            deinit { buffer.deinitialize(); buffer.deallocate() }
        }
        let slots = Slots(buckets.count)
        let base = buckets.lowerBound
        DispatchQueue.concurrentPerform(iterations: buckets.count) { i in
            slots.buffer[i] = self.bucket(base + i)
        }
        return Array(slots.buffer)
    }

    func bucket(_ b: Int) -> BucketOutput {
        let lo = b * bucketWidth, hi = min(lo + bucketWidth, latentCount)
        var result = BucketOutput()
        result.latentEnd = hi
        // Counting sort of the bucket's entries by latent (stable: stream order kept).
        var counts = [Int](repeating: 0, count: hi - lo + 1)
        for c in chunks[b] { for e in 0 ..< c.count { counts[Int(bytes.u32(c.offset + 12 * e + 4)) - lo + 1] += 1 } }
        for i in 1 ..< counts.count { counts[i] += counts[i - 1] }
        let total = counts[hi - lo]
        var pos = [UInt32](repeating: 0, count: total), val = [Float](repeating: 0, count: total)
        var next = counts
        for c in chunks[b] {
            for e in 0 ..< c.count {
                let eo = c.offset + 12 * e
                let l = Int(bytes.u32(eo + 4)) - lo
                pos[next[l]] = bytes.u32(eo); val[next[l]] = bytes.f32(eo + 8)
                next[l] += 1
            }
        }
        result.entries.reserveCapacity(hi - lo)
        for l in lo ..< hi {
            let s = counts[l - lo], e = counts[l - lo + 1]
            let n = PartFinalizer.normalise(&pos, &val, s, e)
            let ex = pos.withUnsafeBufferPointer { pp in
                val.withUnsafeBufferPointer { vp in
                    LatentSelection.build(latent: l, positions: UnsafeBufferPointer(rebasing: pp[s ..< s + n]),
                                          values: UnsafeBufferPointer(rebasing: vp[s ..< s + n]), totalWindows: totalWindows,
                                          config: examples, rngSalt: rngSalt)
                }
            }
            let rec = ex.content.encoded(version: formatVersion)
            guard rec.count <= Int(UInt32.max) else {
                result.error = .invalidArgument("latent \(l)'s record would exceed 4 GiB: lower --top / --per-quantile / --random")
                return result
            }
            var entry = IndexEntry(recordOffset: UInt64(result.records.count), recordLength: UInt32(rec.count), recordCRC: CRC32.checksum(rec),
                                   firingCount: UInt64(ex.firingCount), activeWindowCount: UInt64(ex.activeWindowCount),
                                   maxActivation: ex.maxActivation, meanActivation: ex.meanActivation)
            result.records.append(contentsOf: rec)
            if keepAll, n > 0 {
                var w = ByteWriter(capacity: 6 * n)
                for i in s ..< s + n { w.u32(pos[i]) }
                for i in s ..< s + n { w.u16(Half.bits(val[i])) }
                entry.activationsOffset = UInt64(result.activations.count)
                entry.activationsCRC = CRC32.checksum(w.bytes)
                result.activations.append(contentsOf: w.bytes)
            }
            result.entries.append(entry)
        }
        return result
    }
}
