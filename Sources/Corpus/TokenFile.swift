import Foundation

/// A packed token file opened read-only through a memory map.
///
/// Rows are served straight from the mapping: `row(_:)` returns a pointer into it
/// that stays valid while this object is alive. The mapping is read-only, so one
/// `TokenFile` can be shared between threads.
public final class TokenFile: @unchecked Sendable {
    public let path: String
    public let header: TokenFileHeader
    /// Where the tokens came from (decoded from the JSON blob after the rows).
    public let provenance: TokenFileProvenance
    private let base: UnsafeMutableRawPointer?
    private let mappedBytes: Int

    /// Rows in the file; each holds exactly `contextLength` tokens.
    public var rowCount: Int { header.rowCount }
    /// Tokens per row.
    public var contextLength: Int { header.contextLength }
    /// All tokens in the file (`rowCount × contextLength`).
    public var tokenCount: Int { header.tokenCount }
    public var vocabSize: Int { header.vocabSize }
    public var eosTokenId: Int32 { header.eosTokenId }

    /// Opens and validates `path` (magic, version, sizes, provenance JSON).
    /// - Parameter validateTokens: also check every token id is inside the vocabulary (reads the whole file).
    public init(path: String, validateTokens: Bool = false) throws {
        #if _endian(big)
        throw CorpusError.invalidHeader(path: path, reason: "big-endian hosts are not supported")
        #else
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw CorpusError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CorpusError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CorpusError.cannotRead(path: path, reason: "not a regular file")
        }
        let fileSize = UInt64(max(0, Int64(info.st_size)))
        guard fileSize >= UInt64(TokenFileHeader.size) else {
            throw CorpusError.truncated(path: path, expectedBytes: UInt64(TokenFileHeader.size), actualBytes: fileSize)
        }
        guard fileSize <= UInt64(Int.max) else {
            throw CorpusError.invalidHeader(path: path, reason: "file of \(fileSize) bytes is too large")
        }
        let length = Int(fileSize)
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw CorpusError.cannotRead(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let bytes = UnsafeRawBufferPointer(start: mapped, count: length)
        let header: TokenFileHeader
        let provenance: TokenFileProvenance
        do {
            header = try TokenFileHeader.decode(bytes, fileSize: fileSize, path: path)
            let start = Int(header.provenanceOffset)
            let json = Data(bytes[start..<start + header.provenanceLength])
            do {
                provenance = try JSONDecoder().decode(TokenFileProvenance.self, from: json)
            } catch {
                throw CorpusError.badProvenance(path: path, reason: TokenFile.describe(error))
            }
        } catch {
            munmap(mapped, length)
            throw error
        }
        self.header = header
        self.provenance = provenance
        self.base = mapped
        self.mappedBytes = length
        if validateTokens { try self.validateTokens() }
        #endif
    }

    deinit {
        if let base { munmap(base, mappedBytes) }
    }

    /// Every token of the file in order (valid while this object is alive).
    public var tokens: UnsafeBufferPointer<Int32> {
        guard let base, tokenCount > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        let start = (base + TokenFileHeader.size).assumingMemoryBound(to: Int32.self)
        return UnsafeBufferPointer(start: start, count: tokenCount)
    }

    /// Row `i` (exactly `contextLength` tokens), pointing into the mapping.
    public func row(_ i: Int) throws -> UnsafeBufferPointer<Int32> {
        guard i >= 0, i < rowCount else { throw CorpusError.rowOutOfRange(row: i, rowCount: rowCount) }
        let all = tokens
        return UnsafeBufferPointer(rebasing: all[(i * contextLength)..<((i + 1) * contextLength)])
    }

    /// Copies row `i` into `buffer`, which must hold at least `contextLength` tokens.
    public func copyRow(_ i: Int, into buffer: UnsafeMutableBufferPointer<Int32>) throws {
        guard buffer.count >= contextLength else {
            throw CorpusError.invalidOption("buffer of \(buffer.count) tokens is smaller than the context length \(contextLength)")
        }
        let source = try row(i)
        guard let dst = buffer.baseAddress, let src = source.baseAddress else { return }
        dst.update(from: src, count: contextLength)
    }

    /// Row `i` as a new array.
    public func rowArray(_ i: Int) throws -> [Int32] { Array(try row(i)) }

    /// Checks that every token id lies in `0..<vocabSize`.
    public func validateTokens() throws {
        let vocab = Int32(clamping: vocabSize)
        for (index, token) in tokens.enumerated() where token < 0 || token >= vocab {
            throw CorpusError.tokenOutOfRange(path: path, index: UInt64(index), token: token, vocabSize: vocabSize)
        }
    }

    static func describe(_ error: Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case let .dataCorrupted(context): return context.debugDescription
            case let .keyNotFound(key, _): return "missing key '\(key.stringValue)'"
            case let .typeMismatch(_, context), let .valueNotFound(_, context):
                let path = context.codingPath.map(\.stringValue).joined(separator: ".")
                return "\(path): \(context.debugDescription)"
            @unknown default: return String(describing: decoding)
            }
        }
        return String(describing: error)
    }
}
