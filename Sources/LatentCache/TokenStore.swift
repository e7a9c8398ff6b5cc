import Foundation
import TensorFormats

/// The shared token rows of a cache (`tokens.bin`): header + tokenCount token ids, row-major.
///
/// Header fields: count = tokens, field1 = row length, field2 = CRC-32 of the token data
/// (checked by `verify`, not at open, so opening stays O(1)), field3 = rows, field4 = bytes per token
/// (version 2: 2 or 4; version 1: 0, the ids are always u32).
public final class TokenStore: @unchecked Sendable {
    public let path: String
    public let tokenCount: Int
    public let rowLength: Int
    public let rows: Int
    /// Width of one stored token id: 2 (u16) or 4 (u32).
    public let bytesPerToken: Int
    let dataCRC: UInt32
    private let file: MappedFile
    private let data: UnsafeRawBufferPointer

    init(path: String, version: Int) throws {
        self.path = path
        do { file = try MappedFile(path: path) } catch {
            throw CacheError.cannotOpen(path: path, reason: "\(error)")
        }
        let h = try FileHeader.decode(file.bytes, expected: .tokens, version: version, path: path)
        let width: Int
        if version == 1 {
            width = 4
        } else {
            guard h.field4 == 2 || h.field4 == 4 else {
                throw CacheError.corrupt(path: path, reason: "token width \(h.field4) bytes, expected 2 or 4")
            }
            width = Int(h.field4)
        }
        guard let n = Checked.int(h.count), let rl = Checked.int(h.field1), let r = Checked.int(h.field3),
              rl >= 1, Checked.mul(rl, r) == n, let bytes = Checked.mul(n, width) else {
            throw CacheError.corrupt(path: path, reason: "token count \(h.count) is not rows \(h.field3) × row length \(h.field1)")
        }
        let need = CacheFormat.headerSize + bytes
        guard file.count >= need else {
            throw CacheError.truncated(path: path, expectedBytes: need, actualBytes: file.count, what: "\(n) tokens")
        }
        tokenCount = n
        rowLength = rl
        rows = r
        bytesPerToken = width
        dataCRC = UInt32(truncatingIfNeeded: h.field2)
        data = UnsafeRawBufferPointer(rebasing: file.bytes[CacheFormat.headerSize ..< need])
    }

    /// Size of tokens.bin on disk, and where its token data ends (`verify` wants them equal).
    var fileSize: Int { file.count }
    var dataEnd: Int { CacheFormat.headerSize + data.count }

    /// Token id at a flat index (the caller checked the range).
    @inline(__always) func token(at i: Int) -> Int {
        bytesPerToken == 2 ? Int(data.u16(2 * i)) : Int(data.u32(4 * i))
    }

    /// `count` token ids starting at flat index `start`; throws when out of range.
    public func tokens(start: Int, count: Int) throws -> [Int] {
        guard start >= 0, count >= 0, start <= tokenCount, count <= tokenCount - start else {
            throw CacheError.offsetOutOfRange(path: path, what: "token range", offset: start, length: count, fileSize: tokenCount)
        }
        var out = [Int](repeating: 0, count: count)
        for i in 0 ..< count { out[i] = token(at: start + i) }
        return out
    }

    /// Checks the data checksum (reads the whole file).
    public func verify() throws {
        let c = CRC32.checksum(data)
        guard c == dataCRC else { throw CacheError.checksumMismatch(path: path, what: "token data", stored: dataCRC, computed: c) }
    }

    /// The token width a new cache uses: u16 in version 2 when every id of the vocabulary fits, else u32.
    static func bytesPerToken(version: Int, vocabularyCount: Int) -> Int {
        version >= 2 && vocabularyCount <= CacheFormat.maxVocabularyFor16BitTokens ? 2 : 4
    }

    /// Writes the header of a token file whose data (`bytesPerToken` per id) is already on disk after a
    /// header placeholder.
    static func finishFile(writer: BufferedFileWriter, tokenCount: Int, rowLength: Int, crc: UInt32, version: Int, bytesPerToken: Int) throws {
        let h = FileHeader(kind: .tokens, version: version, count: UInt64(tokenCount), field1: UInt64(rowLength),
                           field2: UInt64(crc), field3: UInt64(tokenCount / max(1, rowLength)),
                           field4: version == 1 ? 0 : UInt64(bytesPerToken))
        try writer.patch(h.encoded(), at: 0)
    }
}

/// The tokenizer's display strings (`vocab.bin`): header, (count+1) × u32 offsets, string bytes.
///
/// Strings are stored as raw bytes exactly as given; header field1 = blob length,
/// field2 = CRC-32 of offsets + blob (checked at open; the table is small).
public final class VocabularyStore: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let file: MappedFile
    private let offsets: UnsafeRawBufferPointer
    private let blob: UnsafeRawBufferPointer

    init(path: String, version: Int) throws {
        self.path = path
        do { file = try MappedFile(path: path) } catch {
            throw CacheError.cannotOpen(path: path, reason: "\(error)")
        }
        let h = try FileHeader.decode(file.bytes, expected: .vocab, version: version, path: path)
        guard let n = Checked.int(h.count), let blobLen = Checked.int(h.field1), n < Int(UInt32.max),
              let tableLen = Checked.mul(n + 1, 4), let body = Checked.add(tableLen, blobLen) else {
            throw CacheError.corrupt(path: path, reason: "impossible vocabulary size \(h.count) / \(h.field1) bytes")
        }
        let need = CacheFormat.headerSize + body
        guard file.count >= need else {
            throw CacheError.truncated(path: path, expectedBytes: need, actualBytes: file.count, what: "\(n) display strings")
        }
        let all = UnsafeRawBufferPointer(rebasing: file.bytes[CacheFormat.headerSize ..< need])
        let crc = CRC32.checksum(all)
        let stored = UInt32(truncatingIfNeeded: h.field2)
        guard crc == stored else { throw CacheError.checksumMismatch(path: path, what: "display strings", stored: stored, computed: crc) }
        offsets = UnsafeRawBufferPointer(rebasing: all[0 ..< tableLen])
        blob = UnsafeRawBufferPointer(rebasing: all[tableLen ..< body])
        var prev: UInt32 = 0
        for i in 0 ... n {
            let o = offsets.u32(4 * i)
            guard o >= prev, Int(o) <= blobLen, i > 0 || o == 0 else {
                throw CacheError.corrupt(path: path, reason: "display string offsets are not increasing at entry \(i)")
            }
            prev = o
        }
        count = n
    }

    /// Size of vocab.bin on disk, and where its offsets and strings end (`verify` wants them equal).
    var fileSize: Int { file.count }
    var dataEnd: Int { CacheFormat.headerSize + offsets.count + blob.count }

    /// The stored bytes of a token's display string; nil for an id outside the vocabulary.
    public func bytes(_ token: Int) -> [UInt8]? {
        guard token >= 0, token < count else { return nil }
        let a = Int(offsets.u32(4 * token)), b = Int(offsets.u32(4 * token + 4))
        return Array(blob[a ..< b])
    }

    /// The display string (invalid UTF-8 decoded with U+FFFD); `⟨id⟩` when the id is unknown.
    public func string(_ token: Int) -> String {
        guard let b = bytes(token) else { return "⟨\(token)⟩" }
        return String(decoding: b, as: UTF8.self)
    }

    /// Encodes a vocabulary file.
    static func encode(_ strings: [[UInt8]], version: Int) throws -> [UInt8] {
        var offsets = ByteWriter(capacity: 4 * (strings.count + 1))
        var blob: [UInt8] = []
        offsets.u32(0)
        for s in strings {
            blob.append(contentsOf: s)
            guard blob.count < Int(UInt32.max) else { throw CacheError.invalidArgument("display strings exceed 4 GiB") }
            offsets.u32(UInt32(blob.count))
        }
        var body = offsets.bytes
        body.append(contentsOf: blob)
        let crc = CRC32.checksum(body)
        var out = FileHeader(kind: .vocab, version: version, count: UInt64(strings.count), field1: UInt64(blob.count), field2: UInt64(crc)).encoded()
        out.append(contentsOf: body)
        return out
    }
}
