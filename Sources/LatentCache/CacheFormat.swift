import Foundation
import TensorFormats

/// Constants and fixed layouts of the cache format (see docs/cache-format.md).
public enum CacheFormat {
    /// The format version new caches are written in.
    public static let version = 2
    /// Every version this build reads (version 1 caches open and read the same as version 2 ones).
    public static let supportedVersions: ClosedRange<Int> = 1 ... 2
    /// Version 2 stores window positions as u8: windows of at most this many tokens.
    public static let maxWindowLengthV2 = 255
    /// Version 2 stores token ids as u16 when the vocabulary has at most this many entries.
    public static let maxVocabularyFor16BitTokens = 65_536
    /// Version 2 stores window-table indices as u16 when a record has at most this many windows.
    static let maxWindowsFor16BitIndices = 65_535
    /// Every binary file starts with these 4 bytes.
    static let magic = "FSLC"
    /// Size of the common file header.
    static let headerSize = 64
    /// Size of one latent index entry.
    static let indexEntrySize = 64
    /// Size of one annotation index entry.
    static let annotationIndexEntrySize = 32
    /// Size of the fixed part of a latent record.
    static let recordHeaderSize = 48
    /// Size of an annotation log record header.
    static let annotationRecordHeaderSize = 32

    /// File names inside the cache folder.
    static let manifestFile = "manifest.json"
    static let tokensFile = "tokens.bin"
    static let vocabFile = "vocab.bin"
    static let partsFolder = "parts"
    static let indexFile = "index.bin"
    static let recordsFile = "records.bin"
    static let activationsFile = "activations.bin"
    static let annotationLogFile = "annotations.log"
    static let annotationIndexFile = "annotations.idx"
}

/// The four-character kind that follows the magic in a file header.
enum FileKind: String {
    case index = "INDX", records = "RECS", tokens = "TOKS", vocab = "VOCB"
    case activations = "ACTS", annotationLog = "ANNL", annotationIndex = "ANNI"
}

/// The 64-byte header every binary cache file starts with.
///
/// Layout: magic "FSLC" (4), kind (4), u32 version, u32 header size, u64 count, u64 field1…field4,
/// u32 reserved, u32 CRC-32 of bytes 0‥59. Every file of a cache carries the manifest's version.
struct FileHeader: Equatable {
    var kind: FileKind
    /// Format version (1 or 2).
    var version: Int
    var count: UInt64
    var field1: UInt64 = 0
    var field2: UInt64 = 0
    var field3: UInt64 = 0
    var field4: UInt64 = 0

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: CacheFormat.headerSize)
        w.ascii(CacheFormat.magic)
        w.ascii(kind.rawValue)
        w.u32(UInt32(truncatingIfNeeded: version))
        w.u32(UInt32(CacheFormat.headerSize))
        w.u64(count); w.u64(field1); w.u64(field2); w.u64(field3); w.u64(field4)
        w.u32(0)
        let crc = w.bytes.withUnsafeBytes { CRC32.checksum($0) }
        w.u32(crc)
        return w.bytes
    }

    /// Decodes and validates the header at the start of `bytes`; `version` is the cache's version
    /// (from the manifest), which every file must carry.
    static func decode(_ bytes: UnsafeRawBufferPointer, expected kind: FileKind, version expectedVersion: Int, path: String) throws -> FileHeader {
        guard bytes.count >= CacheFormat.headerSize else {
            throw CacheError.truncated(path: path, expectedBytes: CacheFormat.headerSize, actualBytes: bytes.count, what: "the file header")
        }
        let magic = bytes.fourCC(0)
        guard magic == CacheFormat.magic else {
            throw CacheError.badMagic(path: path, found: magic, expected: CacheFormat.magic)
        }
        let k = bytes.fourCC(4)
        guard k == kind.rawValue else {
            throw CacheError.badMagic(path: path, found: magic + k, expected: CacheFormat.magic + kind.rawValue)
        }
        let version = Int(bytes.u32(8))
        guard CacheFormat.supportedVersions.contains(version) else {
            throw CacheError.unsupportedVersion(path: path, found: version, supported: CacheFormat.version)
        }
        let stored = bytes.u32(60)
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0 ..< 60]))
        guard stored == computed else {
            throw CacheError.checksumMismatch(path: path, what: "the file header", stored: stored, computed: computed)
        }
        guard Int(bytes.u32(12)) == CacheFormat.headerSize else {
            throw CacheError.corrupt(path: path, reason: "header size \(bytes.u32(12)), expected \(CacheFormat.headerSize)")
        }
        guard version == expectedVersion else {
            throw CacheError.corrupt(path: path, reason: "the file is format version \(version) but the cache (manifest) is version \(expectedVersion)")
        }
        return FileHeader(kind: kind, version: version, count: bytes.u64(16), field1: bytes.u64(24), field2: bytes.u64(32),
                          field3: bytes.u64(40), field4: bytes.u64(48))
    }
}

/// One fixed-size entry of a part's latent index (`index.bin`), 64 bytes.
///
/// Layout: u64 record offset, u32 record length, u32 record CRC-32, u64 firing count,
/// u64 active-window count, f32 max activation, f32 mean activation (over firing tokens),
/// u64 activations offset (0 = none), u32 activations CRC-32, u32 flags, u32 reserved,
/// u32 CRC-32 of bytes 0‥59.
struct IndexEntry: Equatable {
    var recordOffset: UInt64 = 0
    var recordLength: UInt32 = 0
    var recordCRC: UInt32 = 0
    var firingCount: UInt64 = 0
    var activeWindowCount: UInt64 = 0
    var maxActivation: Float = 0
    var meanActivation: Float = 0
    var activationsOffset: UInt64 = 0
    var activationsCRC: UInt32 = 0
    var flags: UInt32 = 0

    func encode(into w: inout ByteWriter) {
        let start = w.count
        w.u64(recordOffset); w.u32(recordLength); w.u32(recordCRC)
        w.u64(firingCount); w.u64(activeWindowCount)
        w.f32(maxActivation); w.f32(meanActivation)
        w.u64(activationsOffset); w.u32(activationsCRC); w.u32(flags); w.u32(0)
        let crc = w.bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start ..< start + 60])) }
        w.u32(crc)
    }

    /// Decodes the entry at `offset`, checking its CRC.
    static func decode(_ b: UnsafeRawBufferPointer, at o: Int, latent: Int, path: String) throws -> IndexEntry {
        let stored = b.u32(o + 60)
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: b[o ..< o + 60]))
        guard stored == computed else {
            throw CacheError.checksumMismatch(path: path, what: "index entry of latent \(latent)", stored: stored, computed: computed)
        }
        return IndexEntry(recordOffset: b.u64(o), recordLength: b.u32(o + 8), recordCRC: b.u32(o + 12),
                          firingCount: b.u64(o + 16), activeWindowCount: b.u64(o + 24),
                          maxActivation: b.f32(o + 32), meanActivation: b.f32(o + 36),
                          activationsOffset: b.u64(o + 40), activationsCRC: b.u32(o + 48), flags: b.u32(o + 52))
    }
}

/// IEEE half-precision helpers for per-token activations.
enum Half {
    @inline(__always) static func bits(_ v: Float) -> UInt16 {
        // Clamp to the largest finite half so huge activations do not become infinity.
        let c = v.isNaN ? 0 : min(max(v, -65504), 65504)
        return HalfFloat.fromFloat(c)
    }
    @inline(__always) static func float(_ b: UInt16) -> Float { HalfFloat.toFloat(b) }
}
