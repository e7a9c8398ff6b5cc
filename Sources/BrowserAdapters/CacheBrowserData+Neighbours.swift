import Foundation
import LatentCache
import LatentGeometry
import SparseAutoencoders
import TerminalUI

/// The similarity tables of a cache, each built once on first use (in the background task that asks) and kept:
/// per part the decoder-cosine, encoder-cosine and co-occurrence neighbours, and per pair of parts the alignment.
final class NeighbourIndexStore: @unchecked Sendable {
    private let lock = NSLock()
    private let buildLock = NSLock()
    private var tables: [String: Result<NeighbourTable, BrowserError>] = [:]
    private var alignments: [String: Result<AlignmentResult, BrowserError>] = [:]
    private var notes: [String: String] = [:]
    /// Seconds each table took to build, for the status and the docs' measurements.
    private(set) var buildSeconds: [String: Double] = [:]

    /// The table under `key`, building it (one build at a time) when missing.
    func table(_ key: String, build: () throws -> (NeighbourTable, note: String?)) -> Result<NeighbourTable, BrowserError> {
        if let t = lock.withLock({ tables[key] }) { return t }
        return buildLock.withLock {
            if let t = lock.withLock({ tables[key] }) { return t }
            let t0 = Date()
            let r: Result<NeighbourTable, BrowserError>
            var note: String?
            do {
                let (t, n) = try build()
                r = .success(t)
                note = n
            } catch { r = .failure((error as? BrowserError) ?? BrowserError(String(describing: error))) }
            lock.withLock {
                tables[key] = r
                notes[key] = note
                buildSeconds[key] = Date().timeIntervalSince(t0)
            }
            return r
        }
    }

    func note(_ key: String) -> String? { lock.withLock { notes[key] } }

    func alignment(_ key: String, build: () throws -> AlignmentResult) -> Result<AlignmentResult, BrowserError> {
        if let a = lock.withLock({ alignments[key] }) { return a }
        return buildLock.withLock {
            if let a = lock.withLock({ alignments[key] }) { return a }
            let r: Result<AlignmentResult, BrowserError>
            do { r = .success(try build()) } catch { r = .failure((error as? BrowserError) ?? BrowserError(String(describing: error))) }
            lock.withLock { alignments[key] = r }
            return r
        }
    }
}

extension CacheBrowserData {
    /// Neighbours kept per latent and measure.
    static let neighbourCount = 8

    /// Decoder- and encoder-cosine neighbours, co-occurrence (Jaccard) neighbours and the aligned match in the next
    /// part. The first call per part builds its tables (seconds for thousands of latents; see docs/navigation.md for
    /// 131,072); later calls are lookups.
    public func neighbours(part p: Int, latent: Int) throws -> LatentNeighbours {
        let part = try part(p)
        guard latent >= 0, latent < part.latentCount else { throw BrowserError("no latent \(latent) in part \(p)") }
        var groups: [NeighbourGroup] = []
        func entries(_ t: NeighbourTable, part q: Int) -> [NeighbourEntry] {
            t.neighbours(of: latent).map { e in
                NeighbourEntry(latent: e.index, score: Double(e.value), explanation: explanation(part: q, latent: e.index))
            }
        }
        func group(_ title: String, key: String, build: () throws -> (NeighbourTable, note: String?)) {
            switch neighbourIndex.table(key, build: build) {
            case let .success(t): groups.append(NeighbourGroup(title: title, part: p, entries: entries(t, part: p), note: neighbourIndex.note(key)))
            case let .failure(e): groups.append(NeighbourGroup(title: title, part: p, entries: [], note: e.message))
            }
        }
        let n = part.latentCount
        let search = CosineSearchOptions(k: Self.neighbourCount, excludeSelf: true, projection: n > 16384 ? 64 : nil)
        group("decoder cosine", key: "dec\(p)") {
            let sae = try engine.sae(part: p)
            guard sae.dSAE == n else { throw BrowserError("the SAE has \(sae.dSAE) latents, the part \(n)") }
            return (try CosineSearch.topK(queries: sae.decoderWeight, keys: sae.decoderWeight, dim: sae.dIn, options: search), nil)
        }
        group("encoder cosine", key: "enc\(p)") {
            let sae = try engine.sae(part: p)
            guard sae.dSAE == n else { throw BrowserError("the SAE has \(sae.dSAE) latents, the part \(n)") }
            let rows = CosineSearch.transpose(sae.encoderWeight, rows: sae.dIn, cols: sae.dSAE)
            return (try CosineSearch.topK(queries: rows, keys: rows, dim: sae.dIn, options: search), nil)
        }
        group("co-occurrence (Jaccard of firing tokens)", key: "co\(p)") {
            let acts = try SparseActivations.load(part: part)
            let note = acts.source == .storedWindows ? "estimated from each latent's stored example windows (the cache keeps no activations.bin)" : nil
            return (try Overlaps.topK(acts, acts, measure: .jaccard, k: Self.neighbourCount, sameSet: true), note)
        }
        if cache.parts.count > 1 {
            let q = (p + 1) % cache.parts.count
            let other = cache.parts[q]
            let (a, b) = (min(p, q), max(p, q))
            let byDecoder = cache.parts[a].hook == cache.parts[b].hook
            let result = neighbourIndex.alignment("align\(a)-\(b)") {
                if byDecoder {
                    let sa = try engine.sae(part: a), sb = try engine.sae(part: b)
                    return try LatentAlignment.byDecoder(a: sa.decoderWeight, b: sb.decoderWeight, dim: sa.dIn)
                }
                return try LatentAlignment.byActivations(a: SparseActivations.load(part: cache.parts[a]), b: SparseActivations.load(part: cache.parts[b]))
            }
            let title = "aligned match in \(other.hook) (\(byDecoder ? "decoder cosine" : "activation correlation"))"
            switch result {
            case let .success(r):
                let m = p == a ? r.matches.first { $0.a == latent }.map { ($0.b, $0.similarity) }
                    : r.matches.first { $0.b == latent }.map { ($0.a, $0.similarity) }
                let entries = m.map { [NeighbourEntry(latent: $0.0, score: Double($0.1), explanation: explanation(part: q, latent: $0.0))] } ?? []
                groups.append(NeighbourGroup(title: title, part: q, entries: entries,
                                             note: m == nil ? "unmatched: no candidate above \(r.summary.minimumSimilarity) was free" : nil))
            case let .failure(e):
                groups.append(NeighbourGroup(title: title, part: q, entries: [], note: e.message))
            }
        }
        return LatentNeighbours(groups: groups)
    }

    func explanation(part p: Int, latent: Int) -> String? {
        guard p >= 0, p < cache.parts.count else { return nil }
        return (try? cache.parts[p].summary(latent))?.explanationPreview.map(Self.firstLine)
    }
}
