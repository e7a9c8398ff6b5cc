import FeaturescopeCore
import Foundation

/// How far one part's top-token index has got: latents `0 ..< indexed` of `total` are in it.
public struct TokenIndexProgress: Sendable, Equatable {
    public var indexed: Int
    public var total: Int
    public init(indexed: Int, total: Int) { self.indexed = indexed; self.total = total }
    public var isComplete: Bool { indexed >= total }
    /// Whole percent done (100 for an empty part).
    public var percent: Int { total > 0 ? min(100, indexed * 100 / total) : 100 }
}

/// A searchable text index of every latent's top tokens, one per part, built in the background the
/// first time search is used (`build`), so `/python` finds every latent whose top activating tokens
/// contain "python" — not only the rows a list has already shown.
///
/// Each latent contributes up to `maxTokensPerLatent` display strings (from
/// `BrowserDataSource.searchTokens`), sanitised, lower-cased, cut to `maxTokenBytes` bytes and stored
/// as UTF-8 with a 0 byte after each, so a match never spans two tokens or two latents. Latents are
/// indexed in order, in immutable chunks; a reader sees the prefix `0 ..< indexed` that is done. The
/// index of 10⁶ latents with 3 short tokens each is about 20 MB.
public final class TopTokenIndex: @unchecked Sendable {
    /// Latents per chunk (one allocation and one progress check each).
    public static let chunkSize = 2048
    public static let maxTokensPerLatent = 8
    public static let maxTokenBytes = 64

    /// Latents `start ..< start + offsets.count - 1`; latent `start + i` owns `bytes[offsets[i] ..< offsets[i + 1]]`.
    struct Chunk: Sendable {
        let start: Int
        let bytes: [UInt8]
        let offsets: [Int32]
        var count: Int { offsets.count - 1 }
    }

    struct PartIndex {
        var chunks: [Chunk] = []
        var indexed = 0
        var total: Int
        var building = false
    }

    private let lock = NSLock()
    private var parts: [Int: PartIndex] = [:]
    /// Minimum time between two progress reports of a build.
    let reportInterval: Duration
    /// Threads that read latents at the same time while building (the data source is thread-safe).
    let workers: Int

    /// - Parameter workers: threads reading latents in parallel (default: one per core).
    public init(reportInterval: Duration = .milliseconds(250), workers: Int? = nil) {
        self.reportInterval = reportInterval
        self.workers = max(1, min(16, workers ?? ProcessInfo.processInfo.activeProcessorCount))
    }

    /// Progress of `part`, nil when its build never started.
    public func progress(part: Int) -> TokenIndexProgress? {
        lock.withLock { parts[part].map { TokenIndexProgress(indexed: $0.indexed, total: $0.total) } }
    }

    /// Reserves the build of `part`; returns the first latent still to index, or nil when the index is
    /// complete or another task is building it.
    func claim(part: Int, total: Int) -> Int? {
        lock.withLock {
            var p = parts[part] ?? PartIndex(total: total)
            guard !p.building, p.indexed < p.total else {
                parts[part] = p
                return nil
            }
            p.building = true
            parts[part] = p
            return p.indexed
        }
    }

    /// Indexes the latents of `part` not yet indexed, reporting progress at most every `reportInterval`
    /// and once at the end. Returns early when the task is cancelled (a later build resumes) or when
    /// another build of the part runs.
    public func build(part: Int, data: BrowserDataSource, isCancelled: () -> Bool = { Task.isCancelled },
                      progress: (TokenIndexProgress) -> Void) {
        guard data.parts.indices.contains(part) else { return }
        let total = data.parts[part].latentCount
        guard var next = claim(part: part, total: total) else {
            if let p = self.progress(part: part), p.isComplete { progress(p) }
            return
        }
        defer { lock.withLock { parts[part]?.building = false } }
        var lastReport = ContinuousClock.now
        while next < total {
            if isCancelled() { return }
            let end = min(total, next + Self.chunkSize)
            let chunk = Self.makeChunk(start: next, end: end, workers: workers) { data.searchTokens(part: part, latent: $0) }
            lock.withLock {
                parts[part]?.chunks.append(chunk)
                parts[part]?.indexed = end
            }
            next = end
            let now = ContinuousClock.now
            if next == total || now - lastReport >= reportInterval {
                lastReport = now
                progress(TokenIndexProgress(indexed: next, total: total))
            }
        }
        if total == 0 { progress(TokenIndexProgress(indexed: 0, total: 0)) }
    }

    /// Runs `build` on a low-priority thread of its own (it runs for seconds on a big cache and must not
    /// hold one of the few threads that serve the UI's other background work). Cancelling the calling
    /// task stops it at the next chunk.
    public func buildInBackground(part: Int, data: BrowserDataSource,
                                  progress: @escaping @Sendable (TokenIndexProgress) -> Void) async {
        let flag = CancelFlag()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global(qos: .utility).async {
                    self.build(part: part, data: data, isCancelled: { flag.isSet }, progress: progress)
                    c.resume()
                }
            }
        } onCancel: {
            flag.set()
        }
    }

    /// Indexes latents `start ..< end` with `tokens` giving each one's display strings; `workers` threads
    /// read and normalise contiguous slices at the same time, then the slices are joined in order.
    static func makeChunk(start: Int, end: Int, workers: Int = 1, tokens: (Int) -> [String]) -> Chunk {
        let n = max(0, end - start)
        var perLatent = [[UInt8]](repeating: [], count: n)
        func encode(_ latent: Int) -> [UInt8] {
            var out: [UInt8] = []
            for t in tokens(latent).prefix(maxTokensPerLatent) {
                out += normalized(t)
                out.append(0)
            }
            return out
        }
        let slices = max(1, min(workers, n / 64))
        if slices == 1 {
            for i in 0 ..< n { perLatent[i] = encode(start + i) }
        } else {
            perLatent.withUnsafeMutableBufferPointer { out in
                let slots = SendableSlots(out)
                withoutActuallyEscaping(encode) { encode in
                    let box = UncheckedBox(encode)
                    DispatchQueue.concurrentPerform(iterations: slices) { k in
                        let lo = n * k / slices, hi = n * (k + 1) / slices
                        for i in lo ..< hi { slots.buffer[i] = box.value(start + i) }
                    }
                }
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(perLatent.reduce(0) { $0 + $1.count })
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(n + 1)
        for b in perLatent {
            bytes += b
            offsets.append(Int32(truncatingIfNeeded: bytes.count))
        }
        return Chunk(start: start, bytes: bytes, offsets: offsets)
    }

    /// A token as the index stores it: sanitised, lower-cased UTF-8 without 0 bytes, at most `maxTokenBytes`
    /// (cut on a character boundary).
    static func normalized(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        for ch in SafeText.sanitize(token).lowercased() {
            let u = Array(String(ch).utf8).filter { $0 != 0 }
            if out.count + u.count > maxTokenBytes { break }
            out += u
        }
        return out
    }

    /// The needle as matched against the index (lower-cased UTF-8).
    static func needleBytes(_ search: String) -> [UInt8] { Array(search.lowercased().utf8).filter { $0 != 0 } }

    /// The latents (ascending) among the indexed prefix whose tokens contain `search` (case-insensitive),
    /// and how many latents were indexed when the scan started.
    public func matches(part: Int, search: String) -> (indexed: Int, latents: [Int32]) {
        let (chunks, indexed) = lock.withLock { (parts[part]?.chunks ?? [], parts[part]?.indexed ?? 0) }
        let needle = Self.needleBytes(search)
        guard !needle.isEmpty else { return (indexed, []) }
        var hits: [Int32] = []
        for c in chunks {
            if Task.isCancelled { return (indexed, hits) }
            Self.scan(c, needle: needle, into: &hits)
        }
        return (indexed, hits)
    }

    /// Appends the latents of `c` whose bytes contain `needle`, once each.
    static func scan(_ c: Chunk, needle: [UInt8], into hits: inout [Int32]) {
        c.bytes.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { nd in
                guard let h = hay.baseAddress, let n = nd.baseAddress else { return }
                let m = nd.count, count = hay.count
                guard count >= m else { return }
                let first = n[0]
                var i = 0
                var owner = 0
                while i <= count - m {
                    if h[i] != first { i += 1; continue }
                    var j = 1
                    while j < m && h[i + j] == n[j] { j += 1 }
                    if j < m { i += 1; continue }
                    // Hit at byte i: the owning latent is the last one whose range starts at or before i.
                    while owner + 1 < c.offsets.count && Int(c.offsets[owner + 1]) <= i { owner += 1 }
                    guard owner < c.count else { return }
                    hits.append(Int32(truncatingIfNeeded: c.start + owner))
                    // Skip the rest of this latent's tokens.
                    i = Int(c.offsets[owner + 1])
                }
            }
        }
    }
}

/// A thread-safe one-way switch.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// A buffer whose disjoint elements are written from several threads (each index by one thread only).
struct SendableSlots<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
    init(_ b: UnsafeMutableBufferPointer<T>) { buffer = b }
}

/// A value handed to `concurrentPerform` whose use is thread-safe by contract (the data source is).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
