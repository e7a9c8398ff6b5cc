import Foundation

/// The cross-file invariants of docs/cache-format.md that `verify()` checks beyond the checksums,
/// so a cache edited consistently (CRCs recomputed) but wrongly is still reported, naming the file,
/// the latent and the two numbers that disagree.
extension LatentCacheDirectory {
    /// Manifest vs file sizes and headers, and the part folders.
    func verifyLayout() throws {
        let manifestPath = path + "/" + CacheFormat.manifestFile
        let t = manifest.tokens
        guard t.rows == tokens.rows, t.rows * t.rowLength == t.tokenCount else {
            throw CacheError.invalidManifest(path: manifestPath, reason: "tokens.rows is \(t.rows) (× row length \(t.rowLength) = \(t.rows &* t.rowLength)); tokens.bin has \(tokens.rows) rows, \(tokens.tokenCount) tokens")
        }
        guard tokens.fileSize == tokens.dataEnd else {
            throw CacheError.corrupt(path: tokens.path, reason: "the file has \(tokens.fileSize) bytes; its header's \(tokens.tokenCount) tokens of \(tokens.bytesPerToken) bytes end at \(tokens.dataEnd)")
        }
        guard vocabulary.fileSize == vocabulary.dataEnd else {
            throw CacheError.corrupt(path: vocabulary.path, reason: "the file has \(vocabulary.fileSize) bytes; its header's \(vocabulary.count) strings end at \(vocabulary.dataEnd)")
        }
        var seen: [String: String] = [:]
        for (i, p) in manifest.parts.enumerated() {
            let folder = (p.directory as NSString).standardizingPath
            let expected = String(format: "%@/%02d-", CacheFormat.partsFolder, i)
            guard folder.hasPrefix(expected), !folder.dropFirst(expected.count).contains("/") else {
                throw CacheError.invalidManifest(path: manifestPath, reason: "part \(i) ('\(p.spec.name)') is in folder '\(p.directory)', expected '\(expected)<name>'")
            }
            if let other = seen[folder] {
                throw CacheError.invalidManifest(path: manifestPath, reason: "parts '\(other)' and '\(p.spec.name)' share the folder '\(p.directory)'")
            }
            seen[folder] = p.spec.name
        }
    }
}

extension LatentCachePart {
    private var indexPath: String { directory + "/" + CacheFormat.indexFile }

    /// An index entry's statistics are in range: max and mean finite, 0 < mean ≤ max when the latent
    /// fires (all 0 when it does not), densities per token and per window in [0, 1].
    func checkEntryRanges(_ e: IndexEntry, latent l: Int) throws {
        func bad(_ reason: String) -> CacheError { .corrupt(path: indexPath, reason: "latent \(l): \(reason)") }
        guard e.maxActivation.isFinite, e.meanActivation.isFinite else {
            throw bad("max activation \(e.maxActivation) and mean \(e.meanActivation) must be finite")
        }
        guard e.firingCount <= UInt64(totalTokens) else {
            throw bad("fires on \(e.firingCount) of \(totalTokens) tokens (density above 1)")
        }
        guard e.activeWindowCount <= UInt64(totalWindows), e.activeWindowCount <= e.firingCount else {
            throw bad("\(e.activeWindowCount) active windows of \(totalWindows), with \(e.firingCount) firing tokens (window density above 1, or more windows than tokens)")
        }
        if e.firingCount == 0 {
            guard e.activeWindowCount == 0, e.maxActivation == 0, e.meanActivation == 0 else {
                throw bad("never fires but has \(e.activeWindowCount) active windows, max \(e.maxActivation), mean \(e.meanActivation)")
            }
        } else {
            guard e.activeWindowCount > 0, e.meanActivation > 0, e.meanActivation <= e.maxActivation else {
                throw bad("fires \(e.firingCount) times but has \(e.activeWindowCount) active windows, mean \(e.meanActivation), max \(e.maxActivation) (expected 0 < mean ≤ max)")
            }
        }
    }

    /// The record repeats the entry's active-window count and maximum, and its histogram counts
    /// every firing token once.
    func checkRecordAgrees(_ r: RecordContent, with e: IndexEntry, latent l: Int) throws {
        let recordsPath = directory + "/" + CacheFormat.recordsFile
        func bad(_ reason: String) -> CacheError { .corrupt(path: recordsPath, reason: "record of latent \(l): \(reason)") }
        guard r.activeWindowCount == e.activeWindowCount else {
            throw bad("\(r.activeWindowCount) active windows; index.bin says \(e.activeWindowCount)")
        }
        guard r.histogramUpper == e.maxActivation else {
            throw bad("histogram upper bound \(r.histogramUpper); index.bin's max activation is \(e.maxActivation)")
        }
        let counted = r.histogram.reduce(UInt32(0)) { $0 &+ $1 }
        guard counted == UInt32(truncatingIfNeeded: e.firingCount) else {
            throw bad("histogram counts \(counted) firing tokens; index.bin says \(e.firingCount)")
        }
        for w in r.windows where !(w.maxActivation.isFinite && w.maxActivation > 0 && w.maxActivation <= e.maxActivation) {
            throw bad("window at token \(w.start) has max \(w.maxActivation), outside (0, \(e.maxActivation)]")
        }
    }

    /// Every listed activation is finite and positive.
    func checkActivationsAgree(_ values: [Float], with e: IndexEntry, latent l: Int) throws {
        if let v = values.first(where: { !($0.isFinite && $0 > 0) }) {
            throw CacheError.corrupt(path: directory + "/" + CacheFormat.activationsFile, reason: "latent \(l): activation \(v), expected finite and > 0")
        }
    }
}
