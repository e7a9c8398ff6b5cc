import FeaturescopeCore
import Foundation
import TensorFormats

/// Per-latent head pointers of the annotation log (`annotations.idx`), 32 bytes each.
///
/// Layout: u64 newest record offset, u64 newest explanation offset, f32 best detection,
/// f32 best fuzz (NaN = none), u32 annotation count, u32 CRC-32 of bytes 0‥27.
/// An all-zero entry means "no annotations".
struct AnnotationIndexEntry: Equatable {
    var newest: UInt64 = 0
    var newestExplanation: UInt64 = 0
    var bestDetection: Float = .nan
    var bestFuzz: Float = .nan
    var count: UInt32 = 0

    static let empty = AnnotationIndexEntry()

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        w.u64(newest); w.u64(newestExplanation); w.f32(bestDetection); w.f32(bestFuzz); w.u32(count)
        w.u32(w.bytes.withUnsafeBytes { CRC32.checksum($0) })
        return w.bytes
    }

    static func decode(_ b: [UInt8], latent: Int, path: String) throws -> AnnotationIndexEntry {
        if b.allSatisfy({ $0 == 0 }) { return .empty }
        return try b.withUnsafeBytes { p in
            let stored = p.u32(28), computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: p[0 ..< 28]))
            guard stored == computed else {
                throw CacheError.checksumMismatch(path: path, what: "annotation index entry of latent \(latent)", stored: stored, computed: computed)
            }
            return AnnotationIndexEntry(newest: p.u64(0), newestExplanation: p.u64(8), bestDetection: p.f32(16),
                                        bestFuzz: p.f32(20), count: p.u32(24))
        }
    }

    /// The entry after `a` (stored at `offset`) is appended.
    /// Idempotent: a record at or before `newest` was applied already.
    mutating func apply(_ a: Annotation, at offset: UInt64) {
        guard offset > newest else { return }
        newest = offset
        count &+= 1
        if a.kind == .explanation { newestExplanation = offset }
        if let s = a.metrics?.score.map(Float.init), s.isFinite {
            if a.isDetection, bestDetection.isNaN || s > bestDetection { bestDetection = s }
            if a.isFuzz, bestFuzz.isNaN || s > bestFuzz { bestFuzz = s }
        }
    }
}

/// The append-only annotation store of one part: `annotations.log` + `annotations.idx`.
///
/// Log: a 64-byte header (kind ANNL), then records of a 32-byte header — magic "ANNR", u32 latent,
/// u64 offset of the latent's previous record (0 = none), u32 payload length, u32 payload CRC-32,
/// u8 kind (1 explanation, 2 score), 3 reserved bytes, u32 CRC-32 of header bytes 0‥27 — and a
/// UTF-8 JSON payload (`Annotation`). The log is the source of truth; the index (header field1 =
/// log length it covers) is updated only after the record is synced, so a crash can at worst
/// leave a record the index does not cover yet, which readers pick up by scanning the tail.
final class AnnotationStore: @unchecked Sendable {
    let logPath: String
    let indexPath: String
    let latentCount: Int
    /// Format version of the cache; rewritten headers keep it.
    let version: Int
    private let lock = NSLock()
    private var readFD: Int32 = -1
    private var indexFD: Int32 = -1
    /// Newest explanation texts by latent, with the record offset they were read from.
    private var explanationCache: [Int: (offset: UInt64, text: String?)] = [:]
    /// Records past the index's covered length, cached by log size.
    private var tailCache: (logSize: Int, covered: Int, records: [(offset: UInt64, annotation: Annotation)])?

    init(directory: String, latentCount: Int, version: Int) throws {
        logPath = directory + "/" + CacheFormat.annotationLogFile
        indexPath = directory + "/" + CacheFormat.annotationIndexFile
        self.latentCount = latentCount
        self.version = version
        readFD = open(logPath, O_RDONLY)
        guard readFD >= 0 else { throw CacheError.cannotOpen(path: logPath, reason: String(cString: strerror(errno))) }
        indexFD = open(indexPath, O_RDONLY)
        guard indexFD >= 0 else { throw CacheError.cannotOpen(path: indexPath, reason: String(cString: strerror(errno))) }
        guard let lh = try FileUtil.pread(fd: readFD, count: CacheFormat.headerSize, offset: 0, path: logPath) else {
            throw CacheError.truncated(path: logPath, expectedBytes: CacheFormat.headerSize, actualBytes: FileUtil.fileSize(fd: readFD), what: "the file header")
        }
        _ = try lh.withUnsafeBytes { try FileHeader.decode($0, expected: .annotationLog, version: version, path: logPath) }
        _ = try indexHeader()   // magic, version, CRC, latent count
        let expected = CacheFormat.headerSize + CacheFormat.annotationIndexEntrySize * latentCount
        let size = FileUtil.fileSize(fd: indexFD)
        guard size == expected else {
            throw CacheError.truncated(path: indexPath, expectedBytes: expected, actualBytes: size, what: "\(latentCount) annotation index entries")
        }
    }

    deinit {
        if readFD >= 0 { close(readFD) }
        if indexFD >= 0 { close(indexFD) }
    }

    /// Writes an empty log and index for `latentCount` latents into `directory`.
    static func create(directory: String, latentCount: Int, version: Int) throws {
        try FileUtil.writeFile(FileHeader(kind: .annotationLog, version: version, count: 0).encoded(), to: directory + "/" + CacheFormat.annotationLogFile)
        let idx = directory + "/" + CacheFormat.annotationIndexFile
        let w = try BufferedFileWriter(path: idx)
        try w.write(FileHeader(kind: .annotationIndex, version: version, count: UInt64(latentCount), field1: UInt64(CacheFormat.headerSize)).encoded())
        try w.flush()
        // The entries are all zero ("empty"): extend the file sparsely.
        guard ftruncate(w.fd, off_t(CacheFormat.headerSize + CacheFormat.annotationIndexEntrySize * latentCount)) == 0 else {
            throw CacheError.writeFailed(path: idx, reason: String(cString: strerror(errno)))
        }
        try w.finish()
    }

    // MARK: - JSON

    /// Payload JSON: sorted keys; NaN and infinities (undefined AUCs, correlations) as the strings
    /// "NaN", "Infinity", "-Infinity" so they survive the round trip.
    static func encoder() -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return enc
    }

    static func decoder() -> JSONDecoder {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return dec
    }

    // MARK: - Reading

    private func indexHeader() throws -> (covered: Int, header: FileHeader) {
        guard let b = try FileUtil.pread(fd: indexFD, count: CacheFormat.headerSize, offset: 0, path: indexPath) else {
            throw CacheError.truncated(path: indexPath, expectedBytes: CacheFormat.headerSize, actualBytes: FileUtil.fileSize(fd: indexFD), what: "the file header")
        }
        let h = try b.withUnsafeBytes { try FileHeader.decode($0, expected: .annotationIndex, version: version, path: indexPath) }
        guard Int(exactly: h.count) == latentCount else {
            throw CacheError.corrupt(path: indexPath, reason: "index covers \(h.count) latents, the part has \(latentCount)")
        }
        guard let covered = Checked.int(h.field1), covered >= CacheFormat.headerSize else {
            throw CacheError.corrupt(path: indexPath, reason: "covered log length \(h.field1) is invalid")
        }
        return (covered, h)
    }

    private func indexEntry(_ latent: Int, fd: Int32) throws -> AnnotationIndexEntry {
        let o = CacheFormat.headerSize + CacheFormat.annotationIndexEntrySize * latent
        guard let b = try FileUtil.pread(fd: fd, count: CacheFormat.annotationIndexEntrySize, offset: o, path: indexPath) else {
            throw CacheError.truncated(path: indexPath, expectedBytes: o + 32, actualBytes: FileUtil.fileSize(fd: fd), what: "annotation index entry of latent \(latent)")
        }
        return try AnnotationIndexEntry.decode(b, latent: latent, path: indexPath)
    }

    /// Reads and validates the record at `offset`; returns the annotation and the previous-record pointer.
    private func readRecord(at offset: UInt64, fd: Int32, logSize: Int) throws -> (Annotation, previous: UInt64, end: Int) {
        guard let o = Checked.int(offset), o >= CacheFormat.headerSize, o <= logSize - CacheFormat.annotationRecordHeaderSize else {
            throw CacheError.offsetOutOfRange(path: logPath, what: "annotation record", offset: Int(clamping: offset), length: CacheFormat.annotationRecordHeaderSize, fileSize: logSize)
        }
        guard let h = try FileUtil.pread(fd: fd, count: CacheFormat.annotationRecordHeaderSize, offset: o, path: logPath) else {
            throw CacheError.truncated(path: logPath, expectedBytes: o + 32, actualBytes: logSize, what: "annotation record header")
        }
        let (latent, prev, len, pcrc) = try h.withUnsafeBytes { b -> (UInt32, UInt64, Int, UInt32) in
            guard b.fourCC(0) == "ANNR" else { throw CacheError.badMagic(path: logPath, found: b.fourCC(0), expected: "ANNR (annotation record at offset \(o))") }
            let stored = b.u32(28), computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[0 ..< 28]))
            guard stored == computed else {
                throw CacheError.checksumMismatch(path: logPath, what: "annotation record header at offset \(o)", stored: stored, computed: computed)
            }
            return (b.u32(4), b.u64(8), Int(b.u32(16)), b.u32(20))
        }
        let payloadStart = o + CacheFormat.annotationRecordHeaderSize
        guard len <= logSize - payloadStart, prev < offset else {
            throw CacheError.offsetOutOfRange(path: logPath, what: "annotation payload", offset: payloadStart, length: len, fileSize: logSize)
        }
        guard let payload = try FileUtil.pread(fd: fd, count: len, offset: payloadStart, path: logPath) else {
            throw CacheError.truncated(path: logPath, expectedBytes: payloadStart + len, actualBytes: logSize, what: "annotation payload")
        }
        let c = CRC32.checksum(payload)
        guard c == pcrc else { throw CacheError.checksumMismatch(path: logPath, what: "annotation payload at offset \(o)", stored: pcrc, computed: c) }
        let a: Annotation
        do { a = try AnnotationStore.decoder().decode(Annotation.self, from: Data(payload)) } catch {
            throw CacheError.corrupt(path: logPath, reason: "annotation at offset \(o) is not valid JSON: \(error)")
        }
        guard a.latent == Int(latent) else {
            throw CacheError.corrupt(path: logPath, reason: "annotation at offset \(o) names latent \(a.latent), its header \(latent)")
        }
        return (a, prev, payloadStart + len)
    }

    /// Valid records between `from` and the end of the log (stops at the first damaged one).
    private func scan(from: Int, fd: Int32, logSize: Int) -> (records: [(offset: UInt64, annotation: Annotation)], validEnd: Int) {
        var out: [(UInt64, Annotation)] = []
        var o = from
        while o < logSize {
            guard let (a, _, end) = try? readRecord(at: UInt64(o), fd: fd, logSize: logSize) else { break }
            out.append((UInt64(o), a))
            o = end
        }
        return (out, o)
    }

    private func tail() throws -> [(offset: UInt64, annotation: Annotation)] {
        let size = FileUtil.fileSize(fd: readFD)
        let covered = try indexHeader().covered
        if let t = tailCache, t.logSize == size, t.covered == covered { return t.records }
        let records = covered < size ? scan(from: covered, fd: readFD, logSize: size).records : []
        tailCache = (size, covered, records)
        return records
    }

    /// Index entry of a latent, including records not yet covered by the index.
    func entry(_ latent: Int) throws -> AnnotationIndexEntry {
        lock.lock(); defer { lock.unlock() }
        var e = try indexEntry(latent, fd: indexFD)
        for (o, a) in try tail() where a.latent == latent { e.apply(a, at: o) }
        return e
    }

    /// The newest explanation's text, if any (cached by record offset: list views ask for it every frame).
    func newestExplanation(_ latent: Int) throws -> String? {
        let e = try entry(latent)
        guard e.newestExplanation != 0 else { return nil }
        lock.lock(); defer { lock.unlock() }
        if let c = explanationCache[latent], c.offset == e.newestExplanation { return c.text }
        let text = try readRecord(at: e.newestExplanation, fd: readFD, logSize: FileUtil.fileSize(fd: readFD)).0.text
        if explanationCache.count >= 65536 { explanationCache.removeAll(keepingCapacity: true) }
        explanationCache[latent] = (e.newestExplanation, text)
        return text
    }

    /// All annotations of a latent, oldest first.
    func annotations(_ latent: Int) throws -> [Annotation] {
        lock.lock(); defer { lock.unlock() }
        let size = FileUtil.fileSize(fd: readFD)
        let tailRecords = try tail().filter { $0.annotation.latent == latent }
        var out: [Annotation] = []
        let indexed = try indexEntry(latent, fd: indexFD).newest
        var next = tailRecords.last?.offset ?? indexed
        var guardCount = 0
        while next != 0 {
            let (a, prev, _) = try readRecord(at: next, fd: readFD, logSize: size)
            out.append(a)
            next = prev
            guardCount += 1
            if guardCount > 50_000_000 { throw CacheError.corrupt(path: logPath, reason: "annotation chain of latent \(latent) does not end") }
        }
        return out.reversed()
    }

    // MARK: - Appending

    /// Appends annotations: the records are written and synced, then the index is updated and synced.
    /// Holds an exclusive `flock` on the log, so several processes can append safely.
    func append(_ list: [Annotation]) throws {
        guard !list.isEmpty else { return }
        let enc = AnnotationStore.encoder()
        var payloads: [[UInt8]] = []
        for a in list {
            guard a.latent >= 0, a.latent < latentCount else { throw CacheError.latentOutOfRange(latent: a.latent, latentCount: latentCount) }
            let payload: [UInt8]
            // Every stored annotation passes the one secret redaction (an echoed API key never lands on disk).
            do { payload = Array(SecretRedaction.redact(try enc.encode(a))) } catch {
                throw CacheError.invalidArgument("annotation cannot be encoded as JSON: \(error)")
            }
            guard payload.count < Int(UInt32.max) else { throw CacheError.invalidArgument("annotation payload exceeds 4 GiB") }
            payloads.append(payload)
        }

        lock.lock(); defer { lock.unlock() }
        let logFD = open(logPath, O_RDWR)
        guard logFD >= 0 else { throw CacheError.writeFailed(path: logPath, reason: "cannot open for appending: \(String(cString: strerror(errno))) (is the cache read-only?)") }
        defer { close(logFD) }
        let idxFD = open(indexPath, O_RDWR)
        guard idxFD >= 0 else { throw CacheError.writeFailed(path: indexPath, reason: String(cString: strerror(errno))) }
        defer { close(idxFD) }
        guard flock(logFD, LOCK_EX) == 0 else { throw CacheError.writeFailed(path: logPath, reason: "cannot lock: \(String(cString: strerror(errno)))") }
        defer { flock(logFD, LOCK_UN) }

        // Catch up on records a crashed writer synced but did not index; cut off a torn tail.
        var size = FileUtil.fileSize(fd: logFD)
        let covered = try indexHeader().covered
        if covered > size { throw CacheError.corrupt(path: indexPath, reason: "index covers \(covered) bytes of a \(size)-byte log") }
        var entries: [Int: AnnotationIndexEntry] = [:]
        func entry(_ l: Int) throws -> AnnotationIndexEntry {
            if let e = entries[l] { return e }
            let e = try indexEntry(l, fd: idxFD)
            entries[l] = e
            return e
        }
        if covered < size {
            let (records, validEnd) = scan(from: covered, fd: logFD, logSize: size)
            for (o, r) in records {
                var e = try entry(r.latent)
                e.apply(r, at: o)
                entries[r.latent] = e
            }
            if validEnd < size {
                guard ftruncate(logFD, off_t(validEnd)) == 0 else { throw CacheError.writeFailed(path: logPath, reason: String(cString: strerror(errno))) }
                size = validEnd
            }
        }

        var w = ByteWriter(capacity: payloads.reduce(0) { $0 + $1.count + CacheFormat.annotationRecordHeaderSize })
        for (a, payload) in zip(list, payloads) {
            var e = try entry(a.latent)
            let offset = size + w.count
            let start = w.count
            w.ascii("ANNR"); w.u32(UInt32(a.latent)); w.u64(e.newest); w.u32(UInt32(payload.count))
            w.u32(CRC32.checksum(payload)); w.u8(a.kind == .explanation ? 1 : 2); w.u8(0); w.u8(0); w.u8(0)
            w.u32(w.bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start ..< start + 28])) })
            w.raw(payload)
            e.apply(a, at: UInt64(offset))
            entries[a.latent] = e
        }
        try FileUtil.pwriteAll(fd: logFD, w.bytes, offset: size, path: logPath)
        guard fsync(logFD) == 0 else { throw CacheError.writeFailed(path: logPath, reason: "fsync failed") }

        for (l, e) in entries {
            try FileUtil.pwriteAll(fd: idxFD, e.encoded(), offset: CacheFormat.headerSize + CacheFormat.annotationIndexEntrySize * l, path: indexPath)
        }
        let header = FileHeader(kind: .annotationIndex, version: version, count: UInt64(latentCount), field1: UInt64(size + w.count))
        try FileUtil.pwriteAll(fd: idxFD, header.encoded(), offset: 0, path: indexPath)
        guard fsync(idxFD) == 0 else { throw CacheError.writeFailed(path: indexPath, reason: "fsync failed") }
        tailCache = nil
    }
}
