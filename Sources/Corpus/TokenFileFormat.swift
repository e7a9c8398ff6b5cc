import Foundation

/// The fixed-size header of a packed token file (`.tokens`).
///
/// Layout (all integers little-endian):
///
/// | offset | size | field |
/// |---:|---:|---|
/// | 0 | 8 | magic `FSTOKENS` |
/// | 8 | 4 | version (UInt32, currently 1) |
/// | 12 | 4 | header size in bytes (UInt32, 64) |
/// | 16 | 4 | context length: tokens per row (UInt32, > 0) |
/// | 20 | 4 | vocabulary size (UInt32, > 0) |
/// | 24 | 4 | EOS token id (Int32, in `0..<vocab size`) |
/// | 28 | 4 | reserved, 0 |
/// | 32 | 8 | row count (UInt64) |
/// | 40 | 8 | provenance JSON length in bytes (UInt64) |
/// | 48 | 16 | reserved, 0 |
///
/// The header is followed by `rowCount × contextLength` Int32 token ids (row-major,
/// starting at byte 64 so rows are 4-byte aligned), then the provenance JSON
/// (UTF-8, `TokenFileProvenance`). The file is exactly
/// `64 + rowCount × contextLength × 4 + provenanceLength` bytes.
public struct TokenFileHeader: Equatable, Sendable {
    public static let magicString = "FSTOKENS"
    public static let magic: [UInt8] = Array("FSTOKENS".utf8)
    public static let currentVersion: UInt32 = 1
    public static let size = 64

    public var version: UInt32
    public var contextLength: Int
    public var vocabSize: Int
    public var eosTokenId: Int32
    public var rowCount: Int
    public var provenanceLength: Int

    public init(version: UInt32 = TokenFileHeader.currentVersion, contextLength: Int, vocabSize: Int,
                eosTokenId: Int32, rowCount: Int, provenanceLength: Int) {
        self.version = version
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.eosTokenId = eosTokenId
        self.rowCount = rowCount
        self.provenanceLength = provenanceLength
    }

    /// Number of tokens stored (`rowCount × contextLength`).
    public var tokenCount: Int { rowCount * contextLength }

    /// Byte offset of the provenance JSON.
    public var provenanceOffset: UInt64 {
        UInt64(TokenFileHeader.size) + UInt64(rowCount) * UInt64(contextLength) * 4
    }

    /// The 64 header bytes.
    public func encoded() -> [UInt8] {
        var out = TokenFileHeader.magic
        out.reserveCapacity(TokenFileHeader.size)
        appendLE(&out, version)
        appendLE(&out, UInt32(TokenFileHeader.size))
        appendLE(&out, UInt32(clamping: contextLength))
        appendLE(&out, UInt32(clamping: vocabSize))
        appendLE(&out, UInt32(bitPattern: eosTokenId))
        appendLE(&out, UInt32(0))
        appendLE(&out, UInt64(clamping: rowCount))
        appendLE(&out, UInt64(clamping: provenanceLength))
        out.append(contentsOf: [UInt8](repeating: 0, count: TokenFileHeader.size - out.count))
        return out
    }

    /// Parses and validates the header of `path` whose total size is `fileSize` bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer, fileSize: UInt64, path: String) throws -> TokenFileHeader {
        guard bytes.count >= size else {
            throw CorpusError.truncated(path: path, expectedBytes: UInt64(size), actualBytes: fileSize)
        }
        let foundMagic = Array(bytes[0..<8])
        guard foundMagic == magic else {
            let shown = foundMagic.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
            throw CorpusError.badMagic(path: path, found: "\"\(shown)\"")
        }
        let version: UInt32 = readLE(bytes, 8)
        guard version == currentVersion else {
            throw CorpusError.unsupportedVersion(path: path, version: version, supported: currentVersion)
        }
        let headerSize: UInt32 = readLE(bytes, 12)
        guard headerSize == UInt32(size) else {
            throw CorpusError.invalidHeader(path: path, reason: "header size \(headerSize), expected \(size)")
        }
        let context: UInt32 = readLE(bytes, 16)
        let vocab: UInt32 = readLE(bytes, 20)
        let eos = Int32(bitPattern: readLE(bytes, 24) as UInt32)
        let rows: UInt64 = readLE(bytes, 32)
        let provenance: UInt64 = readLE(bytes, 40)
        guard context > 0 else { throw CorpusError.invalidHeader(path: path, reason: "context length is 0") }
        guard vocab > 0, vocab <= UInt32(Int32.max) else {
            throw CorpusError.invalidHeader(path: path, reason: "vocabulary size \(vocab)")
        }
        guard eos >= 0, UInt32(eos) < vocab else {
            throw CorpusError.invalidHeader(path: path, reason: "EOS id \(eos) outside the vocabulary 0..<\(vocab)")
        }
        // Sizes are checked with overflow detection before anything is multiplied for real.
        let (rowBytes, o1) = UInt64(context).multipliedReportingOverflow(by: 4)
        let (dataBytes, o2) = rows.multipliedReportingOverflow(by: rowBytes)
        let (withHeader, o3) = dataBytes.addingReportingOverflow(UInt64(size))
        let (expected, o4) = withHeader.addingReportingOverflow(provenance)
        guard !(o1 || o2 || o3 || o4), expected <= UInt64(Int.max) else {
            throw CorpusError.invalidHeader(path: path, reason: "row count \(rows) × context \(context) overflows")
        }
        if fileSize < expected {
            throw CorpusError.truncated(path: path, expectedBytes: expected, actualBytes: fileSize)
        }
        if fileSize > expected {
            throw CorpusError.trailingBytes(path: path, expectedBytes: expected, actualBytes: fileSize)
        }
        return TokenFileHeader(version: version, contextLength: Int(context), vocabSize: Int(vocab),
                               eosTokenId: eos, rowCount: Int(rows), provenanceLength: Int(provenance))
    }
}

/// What a token file was made from: stored as JSON after the rows.
public struct TokenFileProvenance: Codable, Equatable, Sendable {
    /// One packed document: where it came from and where its tokens start.
    public struct Document: Codable, Equatable, Sendable {
        /// Source name (package, or input file for plain text inputs).
        public var source: String
        public var title: String
        /// Index of the document's first token in the file's token stream (row × contextLength + column).
        public var firstToken: Int
        /// Tokens of the document including its EOS (the last document may be cut by the dropped partial row).
        public var tokenCount: Int

        public init(source: String, title: String, firstToken: Int, tokenCount: Int) {
            self.source = source
            self.title = title
            self.firstToken = firstToken
            self.tokenCount = tokenCount
        }
    }

    /// Tokenizer or model the ids belong to (e.g. the GGUF file name).
    public var tokenizer: String
    /// The command line that made the file.
    public var command: String
    /// `train` or `heldout` (or any name the writer chose).
    public var split: String
    /// Input paths.
    public var inputs: [String]
    /// Distinct source names, sorted.
    public var sources: [String]
    /// Packed documents in file order (documents lost entirely to the dropped partial row are left out).
    public var documents: [Document]
    /// Tokens of the final partial row that were dropped.
    public var droppedTokens: Int
    /// Free-form extra facts (e.g. held-out fraction).
    public var notes: [String: String]

    public init(tokenizer: String, command: String, split: String, inputs: [String], sources: [String] = [],
                documents: [Document] = [], droppedTokens: Int = 0, notes: [String: String] = [:]) {
        self.tokenizer = tokenizer
        self.command = command
        self.split = split
        self.inputs = inputs
        self.sources = sources
        self.documents = documents
        self.droppedTokens = droppedTokens
        self.notes = notes
    }
}

@inline(__always)
func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
    var v = value.littleEndian
    withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
}

@inline(__always)
func readLE<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
    var v = T.zero
    withUnsafeMutableBytes(of: &v) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + MemoryLayout<T>.size]))
    }
    return T(littleEndian: v)
}
