import Foundation

/// Writes a packed token file as a stream of documents.
///
/// Each appended document is followed by the EOS token; the running token stream
/// is cut into rows of `contextLength` tokens (a long document spans rows), full
/// rows are written out as they fill, and the final partial row is dropped.
/// Memory stays bounded by one flush buffer plus the document being appended.
/// Output goes to a temporary file in the destination folder and is renamed over
/// `path` by `finish`, so readers never see a half-written file.
public final class TokenFileWriter {
    public let path: String
    public let contextLength: Int
    public let vocabSize: Int
    public let eosTokenId: Int32
    private let tempPath: String
    private var fd: Int32
    private var pending: [Int32] = []
    private let flushTokens: Int
    private var documents: [TokenFileProvenance.Document] = []
    private var sources = Set<String>()
    private var streamTokens = 0       // tokens appended so far, EOS included
    private var writtenTokens = 0      // tokens written to disk (whole rows)
    private var finished = false

    /// Tokens appended so far, EOS tokens included (the last partial row is not yet dropped).
    public var appendedTokens: Int { streamTokens }
    /// Full rows so far.
    public var completeRows: Int { streamTokens / contextLength }
    /// Documents appended so far.
    public var documentCount: Int { documents.count }

    /// Creates the temporary output. `rowsPerFlush` rows are buffered between writes.
    public init(path: String, contextLength: Int, vocabSize: Int, eosTokenId: Int32, rowsPerFlush: Int = 1024) throws {
        guard contextLength > 0, contextLength <= Int(UInt32.max) else {
            throw CorpusError.invalidOption("context length must be positive, got \(contextLength)")
        }
        guard vocabSize > 0, vocabSize <= Int(Int32.max) else {
            throw CorpusError.invalidOption("vocabulary size must be positive, got \(vocabSize)")
        }
        guard eosTokenId >= 0, Int(eosTokenId) < vocabSize else {
            throw CorpusError.invalidOption("EOS id \(eosTokenId) is outside the vocabulary 0..<\(vocabSize)")
        }
        self.path = path
        self.contextLength = contextLength
        self.vocabSize = vocabSize
        self.eosTokenId = eosTokenId
        self.flushTokens = max(1, rowsPerFlush) * contextLength
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw CorpusError.writeFailed(path: path, reason: "cannot create folder \(dir.path): \(error.localizedDescription)")
        }
        tempPath = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))").path
        fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw CorpusError.writeFailed(path: tempPath, reason: String(cString: strerror(errno)))
        }
        pending.reserveCapacity(flushTokens + contextLength)
        do {
            try writeAll([UInt8](repeating: 0, count: TokenFileHeader.size))
        } catch {
            cancel()
            throw error
        }
    }

    deinit { if !finished { cancel() } }

    /// Appends one document's tokens followed by EOS.
    /// Throws when a token id is outside the vocabulary (nothing is appended then).
    public func append(_ tokens: [Int32], source: String, title: String) throws {
        guard !finished else { throw CorpusError.writeFailed(path: path, reason: "writer already finished") }
        let vocab = Int32(clamping: vocabSize)
        for (i, t) in tokens.enumerated() where t < 0 || t >= vocab {
            throw CorpusError.tokenOutOfRange(path: "\(source): \(title)", index: UInt64(i), token: t, vocabSize: vocabSize)
        }
        documents.append(.init(source: source, title: title, firstToken: streamTokens, tokenCount: tokens.count + 1))
        sources.insert(source)
        pending.append(contentsOf: tokens)
        pending.append(eosTokenId)
        streamTokens += tokens.count + 1
        if pending.count >= flushTokens { try flushFullRows() }
    }

    /// Writes the remaining full rows and the provenance, drops the partial row,
    /// fills in the header and renames the file into place. Returns the header written.
    @discardableResult
    public func finish(provenance base: TokenFileProvenance) throws -> TokenFileHeader {
        guard !finished else { throw CorpusError.writeFailed(path: path, reason: "writer already finished") }
        do {
            try flushFullRows()
            let dropped = pending.count
            pending.removeAll()
            let tokenCount = writtenTokens
            var provenance = base
            provenance.documents = documents.compactMap { doc in
                guard doc.firstToken < tokenCount else { return nil }
                var kept = doc
                kept.tokenCount = min(doc.tokenCount, tokenCount - doc.firstToken)
                return kept
            }
            provenance.sources = sources.sorted()
            provenance.droppedTokens = dropped
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let json = [UInt8](try encoder.encode(provenance))
            try writeAll(json)
            let header = TokenFileHeader(contextLength: contextLength, vocabSize: vocabSize, eosTokenId: eosTokenId,
                                         rowCount: tokenCount / contextLength, provenanceLength: json.count)
            let headerBytes = header.encoded()
            let written = headerBytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            guard written == headerBytes.count else {
                throw CorpusError.writeFailed(path: tempPath, reason: "header write: \(String(cString: strerror(errno)))")
            }
            guard fsync(fd) == 0 else {
                throw CorpusError.writeFailed(path: tempPath, reason: "fsync: \(String(cString: strerror(errno)))")
            }
            close(fd)
            fd = -1
            guard rename(tempPath, path) == 0 else {
                throw CorpusError.writeFailed(path: path, reason: "rename: \(String(cString: strerror(errno)))")
            }
            finished = true
            return header
        } catch {
            cancel()
            throw error
        }
    }

    /// Abandons the output: closes and removes the temporary file.
    public func cancel() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
        finished = true
    }

    private func flushFullRows() throws {
        let full = (pending.count / contextLength) * contextLength
        guard full > 0 else { return }
        #if _endian(big)
        let out = pending[0..<full].map { $0.littleEndian }
        try out.withUnsafeBytes { try writeRaw($0) }
        #else
        try pending.withUnsafeBytes { try writeRaw(UnsafeRawBufferPointer(rebasing: $0[0..<(full * 4)])) }
        #endif
        pending.removeSubrange(0..<full)
        writtenTokens += full
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeRaw($0) }
    }

    private func writeRaw(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            guard let start = bytes.baseAddress else { return }
            let n = write(fd, start + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw CorpusError.writeFailed(path: tempPath, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}
