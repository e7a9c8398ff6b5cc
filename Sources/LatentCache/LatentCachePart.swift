import Foundation
import TensorFormats

/// One part of a cache (one hook point + SAE): the latent index, records, optional full
/// activations and the annotation store, all reached in O(1) per latent.
public final class LatentCachePart: @unchecked Sendable {
    public let manifest: PartManifest
    /// Folder of this part.
    public let directory: String
    public let latentCount: Int
    /// Tokens and windows in the corpus (for densities).
    public let totalTokens: Int
    public let windowLength: Int
    /// Format version of the cache (1 or 2); the API reads both the same way.
    public let formatVersion: Int
    public var totalWindows: Int { totalTokens / windowLength }
    public var name: String { manifest.spec.name }
    public var hook: String { manifest.spec.hook }
    /// Transcoders: the hook the decoder writes (nil for an SAE part).
    public var hookOut: String? { manifest.spec.hookOut }
    public var sae: SAEInfo? { manifest.spec.sae }

    let tokens: TokenStore
    let vocabulary: VocabularyStore
    private let index: MappedFile
    private let records: MappedFile
    private let activations: MappedFile?
    let annotationStore: AnnotationStore
    /// Where this part's new annotations go when the cache must stay untouched (nil: the cache's own log).
    public let overlayDirectory: String?
    private let overlayLock = NSLock()
    /// The overlay's store, once it exists (created on the first append).
    private var overlayStoreIfOpen: AnnotationStore?

    init(manifest: PartManifest, cacheDirectory: String, tokens: TokenStore, vocabulary: VocabularyStore, windowLength: Int,
         formatVersion: Int, overlayDirectory: String? = nil) throws {
        self.overlayDirectory = overlayDirectory
        self.manifest = manifest
        self.formatVersion = formatVersion
        self.tokens = tokens
        self.vocabulary = vocabulary
        self.windowLength = windowLength
        directory = cacheDirectory + "/" + manifest.directory
        latentCount = manifest.spec.latentCount
        totalTokens = tokens.tokenCount

        let indexPath = directory + "/" + CacheFormat.indexFile
        index = try LatentCachePart.map(indexPath, random: false)  // small, and scanned whole to sort the latent list
        let h = try FileHeader.decode(index.bytes, expected: .index, version: formatVersion, path: indexPath)
        guard Int(exactly: h.count) == latentCount else {
            throw CacheError.corrupt(path: indexPath, reason: "index has \(h.count) latents, the manifest says \(latentCount)")
        }
        guard h.field1 == UInt64(CacheFormat.indexEntrySize) else {
            throw CacheError.corrupt(path: indexPath, reason: "index entry size \(h.field1), expected \(CacheFormat.indexEntrySize)")
        }
        guard h.field2 == UInt64(tokens.tokenCount), h.field3 == UInt64(windowLength) else {
            throw CacheError.corrupt(path: indexPath, reason: "index was built for \(h.field2) tokens in windows of \(h.field3); the cache has \(tokens.tokenCount) tokens in windows of \(windowLength)")
        }
        let indexSize = CacheFormat.headerSize + CacheFormat.indexEntrySize * latentCount
        guard index.count == indexSize else {
            throw CacheError.truncated(path: indexPath, expectedBytes: indexSize, actualBytes: index.count, what: "\(latentCount) index entries")
        }

        let recordsPath = directory + "/" + CacheFormat.recordsFile
        records = try LatentCachePart.map(recordsPath)
        try LatentCachePart.checkDataHeader(records, kind: .records, latentCount: latentCount, version: formatVersion)

        if manifest.hasAllActivations {
            let p = directory + "/" + CacheFormat.activationsFile
            let m = try LatentCachePart.map(p)
            try LatentCachePart.checkDataHeader(m, kind: .activations, latentCount: latentCount, version: formatVersion)
            activations = m
        } else {
            activations = nil
        }
        annotationStore = try AnnotationStore(directory: directory, latentCount: latentCount, version: formatVersion)
        if let o = overlayDirectory, FileManager.default.fileExists(atPath: o + "/" + CacheFormat.annotationLogFile) {
            overlayStoreIfOpen = try AnnotationStore(directory: o, latentCount: latentCount, version: formatVersion)
        }
    }

    /// The overlay's store if it exists; with `create`, made now when missing.
    func overlayStore(create: Bool) throws -> AnnotationStore? {
        guard let o = overlayDirectory else { return nil }
        overlayLock.lock(); defer { overlayLock.unlock() }
        if let s = overlayStoreIfOpen { return s }
        if !FileManager.default.fileExists(atPath: o + "/" + CacheFormat.annotationLogFile) {
            guard create else { return nil }
            do { try FileManager.default.createDirectory(atPath: o, withIntermediateDirectories: true) } catch {
                throw CacheError.writeFailed(path: o, reason: "cannot create the annotation overlay folder: \(error)")
            }
            try AnnotationStore.create(directory: o, latentCount: latentCount, version: formatVersion)
        }
        let s = try AnnotationStore(directory: o, latentCount: latentCount, version: formatVersion)
        overlayStoreIfOpen = s
        return s
    }

    /// Maps a file; `random` turns kernel read-ahead off (per-latent reads touch a few pages of the big
    /// files, so read-ahead would only inflate cold reads and resident memory).
    private static func map(_ path: String, random: Bool = true) throws -> MappedFile {
        let m: MappedFile
        do { m = try MappedFile(path: path) } catch { throw CacheError.cannotOpen(path: path, reason: "\(error)") }
        if random, let base = m.base { _ = madvise(UnsafeMutableRawPointer(mutating: base), m.count, MADV_RANDOM) }
        return m
    }

    /// Header check of records.bin / activations.bin: count = latents, field1 = data length.
    private static func checkDataHeader(_ m: MappedFile, kind: FileKind, latentCount: Int, version: Int) throws {
        let h = try FileHeader.decode(m.bytes, expected: kind, version: version, path: m.path)
        guard Int(exactly: h.count) == latentCount else {
            throw CacheError.corrupt(path: m.path, reason: "file has \(h.count) latents, the manifest says \(latentCount)")
        }
        guard let len = Checked.int(h.field1), let need = Checked.add(CacheFormat.headerSize, len) else {
            throw CacheError.corrupt(path: m.path, reason: "impossible data length \(h.field1)")
        }
        guard m.count == need else {
            throw CacheError.truncated(path: m.path, expectedBytes: need, actualBytes: m.count, what: "the data section")
        }
    }

    // MARK: - Index

    func entry(_ latent: Int) throws -> IndexEntry {
        guard latent >= 0, latent < latentCount else { throw CacheError.latentOutOfRange(latent: latent, latentCount: latentCount) }
        return try IndexEntry.decode(index.bytes, at: CacheFormat.headerSize + CacheFormat.indexEntrySize * latent,
                                     latent: latent, path: index.path)
    }

    /// Statistics from the index only (no annotations): the cheapest way to list or sort latents.
    public func statistics(_ latent: Int) throws -> LatentSummary {
        let e = try entry(latent)
        let tw = totalWindows
        return LatentSummary(latent: latent, firingCount: Int(clamping: e.firingCount), activeWindowCount: Int(clamping: e.activeWindowCount),
                             densityPerToken: totalTokens > 0 ? Double(e.firingCount) / Double(totalTokens) : 0,
                             densityPerWindow: tw > 0 ? Double(e.activeWindowCount) / Double(tw) : 0,
                             maxActivation: e.maxActivation, meanActivation: e.meanActivation,
                             explanationPreview: nil, bestDetection: nil, bestFuzz: nil, annotationCount: 0)
    }

    /// Statistics plus the newest explanation and best detection/fuzz scores.
    public func summary(_ latent: Int) throws -> LatentSummary {
        var s = try statistics(latent)
        let a = try annotationStore.entry(latent)
        s.annotationCount = Int(a.count)
        s.bestDetection = a.bestDetection.isNaN ? nil : a.bestDetection
        s.bestFuzz = a.bestFuzz.isNaN ? nil : a.bestFuzz
        if a.newestExplanation != 0 { s.explanationPreview = try annotationStore.newestExplanation(latent) }
        if let overlay = try overlayStore(create: false) {
            let o = try overlay.entry(latent)
            s.annotationCount += Int(o.count)
            if !o.bestDetection.isNaN { s.bestDetection = max(s.bestDetection ?? -.infinity, o.bestDetection) }
            if !o.bestFuzz.isNaN { s.bestFuzz = max(s.bestFuzz ?? -.infinity, o.bestFuzz) }
            if o.newestExplanation != 0 { s.explanationPreview = try overlay.newestExplanation(latent) }
        }
        return s
    }

    // MARK: - Records

    /// The raw record bytes after range and checksum checks.
    private func recordBytes(_ latent: Int, entry e: IndexEntry) throws -> UnsafeRawBufferPointer {
        guard let off = Checked.int(e.recordOffset), off >= CacheFormat.headerSize,
              Int(e.recordLength) <= records.count - off else {
            throw CacheError.offsetOutOfRange(path: records.path, what: "record of latent \(latent)", offset: Int(clamping: e.recordOffset),
                                              length: Int(e.recordLength), fileSize: records.count)
        }
        let b = UnsafeRawBufferPointer(rebasing: records.bytes[off ..< off + Int(e.recordLength)])
        let c = CRC32.checksum(b)
        guard c == e.recordCRC else {
            throw CacheError.checksumMismatch(path: records.path, what: "record of latent \(latent)", stored: e.recordCRC, computed: c)
        }
        return b
    }

    func recordContent(_ latent: Int) throws -> RecordContent {
        let e = try entry(latent)
        return try RecordContent.decode(recordBytes(latent, entry: e), version: formatVersion, latent: latent, tokenCount: totalTokens,
                                       path: records.path)
    }

    /// Everything stored about one latent: histogram, top, quantile and random windows with tokens.
    public func record(_ latent: Int) throws -> LatentRecord {
        let c = try recordContent(latent)
        let L = c.windowLength
        func window(_ w: RecordContent.Window) throws -> CacheWindow {
            let start = Int(w.start)
            var acts = [Float](repeating: 0, count: L)
            for j in 0 ..< L { acts[j] = Half.float(w.activations[j]) }
            return CacheWindow(start: start, row: start / tokens.rowLength, position: start % tokens.rowLength,
                               maxActivation: w.maxActivation, tokens: try tokens.tokens(start: start, count: L), activations: acts)
        }
        let table = try c.windows.map(window)
        let quantiles = c.quantiles.enumerated().map { q, s in
            QuantileSample(quantile: q, sliceSize: Int(s.sliceSize), strongest: s.strongest, weakest: s.weakest,
                           windows: s.windowIndices.map { table[Int($0)] })
        }
        let random = try c.random.map { s -> CacheWindow in
            let start = Int(s)
            return CacheWindow(start: start, row: start / tokens.rowLength, position: start % tokens.rowLength, maxActivation: 0,
                               tokens: try tokens.tokens(start: start, count: L), activations: [Float](repeating: 0, count: L))
        }
        return LatentRecord(latent: latent, windowLength: L, activeWindowCount: Int(c.activeWindowCount),
                            histogram: ActivationHistogram(upperBound: c.histogramUpper, counts: c.histogram.map { Int($0) }),
                            top: c.top.map { table[Int($0)] }, quantiles: quantiles, random: random)
    }

    /// Every nonzero activation of a latent (flat token positions ascending), when the cache keeps them.
    public func allActivations(_ latent: Int) throws -> (positions: [Int], activations: [Float])? {
        guard let m = activations else { return nil }
        let e = try entry(latent)
        guard let n = Checked.int(e.firingCount), let len = Checked.mul(n, 6) else {
            throw CacheError.corrupt(path: m.path, reason: "firing count \(e.firingCount) of latent \(latent)")
        }
        if n == 0 { return ([], []) }
        guard let off = Checked.int(e.activationsOffset), off >= CacheFormat.headerSize, len <= m.count - off else {
            throw CacheError.offsetOutOfRange(path: m.path, what: "activations of latent \(latent)", offset: Int(clamping: e.activationsOffset), length: len, fileSize: m.count)
        }
        let b = UnsafeRawBufferPointer(rebasing: m.bytes[off ..< off + len])
        let c = CRC32.checksum(b)
        guard c == e.activationsCRC else {
            throw CacheError.checksumMismatch(path: m.path, what: "activations of latent \(latent)", stored: e.activationsCRC, computed: c)
        }
        var pos = [Int](repeating: 0, count: n), acts = [Float](repeating: 0, count: n)
        for i in 0 ..< n {
            let p = Int(b.u32(4 * i))
            guard p < totalTokens else { throw CacheError.corrupt(path: m.path, reason: "activation of latent \(latent) at token \(p) beyond the \(totalTokens)-token store") }
            pos[i] = p
            acts[i] = Half.float(b.u16(4 * n + 2 * i))
        }
        return (pos, acts)
    }

    // MARK: - Annotations

    /// All explanations and scores of a latent, oldest first: the cache's own, then the overlay's.
    public func annotations(_ latent: Int) throws -> [Annotation] {
        guard latent >= 0, latent < latentCount else { throw CacheError.latentOutOfRange(latent: latent, latentCount: latentCount) }
        let own = try annotationStore.annotations(latent)
        guard let overlay = try overlayStore(create: false) else { return own }
        return own + (try overlay.annotations(latent))
    }

    /// Appends an explanation or score without rewriting anything else (to the overlay, when the
    /// cache has one).
    public func appendAnnotation(_ annotation: Annotation) throws {
        try appendAnnotations([annotation])
    }

    /// Appends several annotations with one sync (e.g. an import).
    public func appendAnnotations(_ annotations: [Annotation]) throws {
        if let overlay = try overlayStore(create: true) {
            try overlay.append(annotations)
        } else {
            try annotationStore.append(annotations)
        }
    }

    /// Display string of a token (untrusted: sanitise before printing).
    public func displayString(_ token: Int) -> String { vocabulary.string(token) }

    /// Reads every index entry, record and activation list, checking all checksums and the
    /// invariants between an entry, its record and its activation list.
    public func verify() throws {
        for l in 0 ..< latentCount {
            let e = try entry(l)
            try checkEntryRanges(e, latent: l)
            try checkRecordAgrees(try recordContent(l), with: e, latent: l)
            if let all = try allActivations(l) { try checkActivationsAgree(all.activations, with: e, latent: l) }
        }
    }
}

extension LatentCachePart {
    /// Every activating window of a latent, strongest first (ties: earlier window first), rebuilt from
    /// `activations.bin`; nil when the cache keeps only sampled windows. This is delphi's full sorted
    /// example list, for samplers that cut quantiles themselves.
    public func allActivatingWindows(_ latent: Int) throws -> [CacheWindow]? {
        guard let all = try allActivations(latent) else { return nil }
        let L = windowLength
        var windows: [CacheWindow] = []
        var i = 0
        while i < all.positions.count {
            let start = all.positions[i] / L * L
            var acts = [Float](repeating: 0, count: L)
            var m: Float = 0
            while i < all.positions.count, all.positions[i] < start + L {
                acts[all.positions[i] - start] = all.activations[i]
                m = max(m, all.activations[i])
                i += 1
            }
            windows.append(CacheWindow(start: start, row: start / tokens.rowLength, position: start % tokens.rowLength,
                                       maxActivation: m, tokens: try tokens.tokens(start: start, count: L), activations: acts))
        }
        return windows.enumerated().sorted { a, b in
            a.element.maxActivation != b.element.maxActivation ? a.element.maxActivation > b.element.maxActivation : a.offset < b.offset
        }.map(\.element)
    }
}

extension LatentCachePart {
    /// Examples for explaining and scoring: every activating window strongest first (all of them when the
    /// cache keeps every activation, else the stored top and quantile windows) and the random
    /// non-activating windows.
    public func exampleWindows(_ latent: Int) throws -> (activating: [CacheWindow], nonActivating: [CacheWindow]) {
        let r = try record(latent)
        if let all = try allActivatingWindows(latent) { return (all, r.random) }
        var seen = Set<Int>()
        let stored = (r.top + r.quantiles.flatMap(\.windows)).filter { seen.insert($0.start).inserted }
        let sorted = stored.enumerated().sorted { a, b in
            a.element.maxActivation != b.element.maxActivation ? a.element.maxActivation > b.element.maxActivation : a.element.start < b.element.start
        }.map(\.element)
        return (sorted, r.random)
    }

    /// The display strings of a window's tokens (untrusted: sanitise before printing).
    public func tokenStrings(_ window: CacheWindow) -> [String] { window.tokens.map { vocabulary.string($0) } }
}
