import FeaturescopeCore
import Foundation
import TensorFormats

/// Options of a cache build.
public struct BuildOptions: Codable, Sendable, Equatable {
    public var examples: ExampleConfiguration
    /// Tokens per corpus row (must be a multiple of the window length).
    public var rowLength: Int
    /// Keep every nonzero activation in `activations.bin` (needed for an exact delphi export).
    public var keepAllActivations: Bool
    /// Rows between checkpoints of a resumable build.
    public var checkpointEveryRows: Int
    /// Format version to write: 2 (default, compact) or 1 (kept so tests can check the version 1 reader).
    public var formatVersion: Int

    public init(examples: ExampleConfiguration = ExampleConfiguration(), rowLength: Int,
                keepAllActivations: Bool = true, checkpointEveryRows: Int = 256, formatVersion: Int = CacheFormat.version) {
        self.examples = examples; self.rowLength = rowLength
        self.keepAllActivations = keepAllActivations; self.checkpointEveryRows = checkpointEveryRows
        self.formatVersion = formatVersion
    }

    private enum CodingKeys: String, CodingKey {
        case examples, rowLength, keepAllActivations, checkpointEveryRows, formatVersion
    }

    /// Decodes options; a `state.json` from before version 2 has no `formatVersion` and was a version 1 build.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        examples = try c.decode(ExampleConfiguration.self, forKey: .examples)
        rowLength = try c.decode(Int.self, forKey: .rowLength)
        keepAllActivations = try c.decode(Bool.self, forKey: .keepAllActivations)
        checkpointEveryRows = try c.decode(Int.self, forKey: .checkpointEveryRows)
        formatVersion = try c.decodeIfPresent(Int.self, forKey: .formatVersion) ?? 1
    }
}

/// What a resumable build remembers between runs (`<out>.partial/state.json`).
struct BuildState: Codable, Equatable {
    var parts: [PartSpec]
    var options: BuildOptions
    var metadata: CacheMetadata
    var vocabularySource: String
    var vocabularyCount: Int
    var rowsCompleted: Int
    var tokenFileLength: Int
    var tokenCRC: UInt32
    var spillLengths: [Int]
}

/// Streams a corpus's sparse latent activations into a new cache with bounded memory.
///
/// Use: `start` → for every row `beginRow(tokens)`, `add…` per position and part, `endRow()` →
/// `finalize()`. Activations are spilled to per-part files as (position, latent, value) entries,
/// grouped into latent-range buckets; `finalize` loads one bucket at a time and computes every
/// latent's windows, quantiles and statistics exactly (docs/cache-format.md, "Building").
/// The build lives in `<out>.partial/` and checkpoints every `checkpointEveryRows` rows; calling
/// `start` again with the same parts and options resumes after the last checkpoint
/// (`rowsCompleted` says how many corpus rows to skip). Not thread-safe.
public final class LatentCacheBuilder {
    public let outputPath: String
    public let partialPath: String
    public let parts: [PartSpec]
    public let options: BuildOptions
    /// Corpus rows already in the cache (after a resume: rows to skip).
    public private(set) var rowsCompleted: Int
    /// True when `start` picked up an earlier, interrupted build.
    public let resumed: Bool
    var state: BuildState

    let stagingPath: String
    private let tokenWriter: BufferedFileWriter
    private var tokenCRC: UInt32
    /// Bytes per stored token id (2 or 4), fixed by the format version and the vocabulary size.
    let bytesPerToken: Int
    let spills: [SpillWriter]
    private var rowOpen = false
    private var rowBase = 0
    private var rejected = 0
    private var lastRejection = ""

    /// Starts a build, or resumes the interrupted one at `output` when its parts and options match.
    /// - Parameters:
    ///   - vocabulary: the display string of every token id, as raw bytes (usually UTF-8).
    ///   - vocabularySource: where they came from (`gguf`, `tokenizer`, `token-ids`).
    ///   - overwrite: replace an existing cache at `output` when the build finishes, and discard an
    ///     incompatible interrupted build instead of failing.
    public static func start(output: String, parts: [PartSpec], options: BuildOptions, metadata: CacheMetadata,
                             vocabulary: [[UInt8]], vocabularySource: String, overwrite: Bool = false) throws -> LatentCacheBuilder {
        try options.examples.validate()
        guard CacheFormat.supportedVersions.contains(options.formatVersion) else {
            throw CacheError.invalidArgument("format version \(options.formatVersion) cannot be written (supported: \(CacheFormat.supportedVersions.lowerBound)…\(CacheFormat.supportedVersions.upperBound))")
        }
        if options.formatVersion >= 2, options.examples.windowLength > CacheFormat.maxWindowLengthV2 {
            throw CacheError.invalidArgument("window length \(options.examples.windowLength) is too long for cache format 2 (at most \(CacheFormat.maxWindowLengthV2) tokens; positions are stored as u8)")
        }
        guard options.rowLength >= 1, options.rowLength % options.examples.windowLength == 0 else {
            throw CacheError.invalidArgument("row length \(options.rowLength) must be a positive multiple of the window length \(options.examples.windowLength)")
        }
        guard !parts.isEmpty else { throw CacheError.invalidArgument("a cache needs at least one part") }
        guard Set(parts.map(\.name)).count == parts.count else { throw CacheError.invalidArgument("part names must be unique") }
        for p in parts where p.latentCount < 1 || p.latentCount > Int(UInt32.max) {
            throw CacheError.invalidArgument("part '\(p.name)' has \(p.latentCount) latents")
        }
        if FileUtil.exists(output), !overwrite { throw CacheError.destinationExists(path: output) }
        let partial = output + ".partial"
        let statePath = partial + "/state.json"
        if FileUtil.exists(statePath) {
            let data = FileManager.default.contents(atPath: statePath) ?? Data()
            if let old = try? JSONDecoder().decode(BuildState.self, from: data),
               old.parts == parts, old.options == options, old.vocabularyCount == vocabulary.count,
               old.metadata.sameInputs(as: metadata) {
                return try LatentCacheBuilder(output: output, state: old, resume: true)
            }
            guard overwrite else {
                throw CacheError.resumeMismatch(path: partial, reason: "an interrupted build with another model, corpus, parts, options or vocabulary is there")
            }
        }
        try? FileManager.default.removeItem(atPath: partial)
        try FileUtil.makeDirectory(partial + "/cache")
        try FileUtil.writeFile(VocabularyStore.encode(vocabulary, version: options.formatVersion), to: partial + "/cache/" + CacheFormat.vocabFile)
        var meta = metadata
        if meta.createdAt == nil { meta.createdAt = Annotation.now() }
        let state = BuildState(parts: parts, options: options, metadata: meta, vocabularySource: vocabularySource,
                               vocabularyCount: vocabulary.count, rowsCompleted: 0, tokenFileLength: CacheFormat.headerSize,
                               tokenCRC: 0, spillLengths: parts.map { _ in 0 })
        return try LatentCacheBuilder(output: output, state: state, resume: false)
    }

    private init(output: String, state: BuildState, resume: Bool) throws {
        outputPath = output
        partialPath = output + ".partial"
        stagingPath = partialPath + "/cache"
        parts = state.parts
        options = state.options
        self.state = state
        resumed = resume
        rowsCompleted = state.rowsCompleted
        tokenCRC = state.tokenCRC
        bytesPerToken = TokenStore.bytesPerToken(version: state.options.formatVersion, vocabularyCount: state.vocabularyCount)
        let tokensPath = stagingPath + "/" + CacheFormat.tokensFile
        if resume {
            tokenWriter = try BufferedFileWriter(path: tokensPath, keepingPrefix: state.tokenFileLength)
        } else {
            tokenWriter = try BufferedFileWriter(path: tokensPath)
            try tokenWriter.write([UInt8](repeating: 0, count: CacheFormat.headerSize))  // header written at finalize
        }
        var sp: [SpillWriter] = []
        for (i, p) in state.parts.enumerated() {
            sp.append(try SpillWriter(path: partialPath + "/spill-\(i).bin", latentCount: p.latentCount,
                                      keepingPrefix: resume ? state.spillLengths[i] : nil))
        }
        spills = sp
        if !resume { try checkpoint() }
    }

    // MARK: - Streaming

    /// Number of tokens already streamed.
    public var tokenCount: Int { rowsCompleted * options.rowLength }

    /// Starts the next corpus row with its token ids (exactly `rowLength` of them).
    public func beginRow<C: Collection>(tokens: C) throws where C.Element: BinaryInteger {
        guard !rowOpen else { throw CacheError.invalidArgument("beginRow called twice without endRow") }
        guard tokens.count == options.rowLength else {
            throw CacheError.invalidArgument("row \(rowsCompleted) has \(tokens.count) tokens, expected \(options.rowLength)")
        }
        guard tokenCount + options.rowLength <= Int(UInt32.max) else {
            throw CacheError.invalidArgument("a cache holds at most \(UInt32.max) tokens")
        }
        var w = ByteWriter(capacity: bytesPerToken * tokens.count)
        if bytesPerToken == 2 {
            for t in tokens {
                guard let v = UInt16(exactly: t) else {
                    throw CacheError.invalidArgument("token id \(t) in row \(rowsCompleted) does not fit the 16-bit token store (the vocabulary has \(state.vocabularyCount) ≤ 65,536 entries, so ids must be below 65,536)")
                }
                w.u16(v)
            }
        } else {
            for t in tokens {
                guard let v = UInt32(exactly: t) else { throw CacheError.invalidArgument("token id \(t) in row \(rowsCompleted) is not a valid id") }
                w.u32(v)
            }
        }
        tokenCRC = w.bytes.withUnsafeBytes { CRC32.checksum($0, continuing: tokenCRC) }
        try tokenWriter.write(w.bytes)
        rowBase = tokenCount
        rowOpen = true
    }

    /// Records one nonzero activation of the current row. Values ≤ 0, NaN and infinity are ignored.
    @inline(__always)
    public func add(part: Int, position: Int, latent: Int, activation: Float) {
        guard activation > 0, activation < .infinity else { return }
        guard rowOpen, part >= 0, part < spills.count, position >= 0, position < options.rowLength,
              latent >= 0, latent < spills[part].latentCount else {
            reject("part \(part) position \(position) latent \(latent)")
            return
        }
        spills[part].append(position: UInt32(truncatingIfNeeded: rowBase + position), latent: UInt32(truncatingIfNeeded: latent), value: activation)
    }

    /// Records a top-k result (parallel arrays of latent indices and values) at one position.
    public func addSparse(part: Int, position: Int, latents: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Float>) {
        for i in 0 ..< min(latents.count, values.count) { add(part: part, position: position, latent: Int(latents[i]), activation: values[i]) }
    }

    /// Records a dense activation vector (d_sae values) at one position; only values > 0 are kept.
    public func addDense(part: Int, position: Int, activations: UnsafeBufferPointer<Float>) {
        for i in 0 ..< activations.count where activations[i] > 0 { add(part: part, position: position, latent: i, activation: activations[i]) }
    }

    /// Records an activation anywhere in the rows streamed so far (for importers whose data is not row-ordered).
    public func add(part: Int, tokenPosition: Int, latent: Int, activation: Float) throws {
        guard activation > 0, activation < .infinity else { return }
        let limit = tokenCount + (rowOpen ? options.rowLength : 0)
        guard part >= 0, part < spills.count, tokenPosition >= 0, tokenPosition < limit, latent >= 0, latent < spills[part].latentCount else {
            throw CacheError.invalidArgument("activation at token \(tokenPosition) of latent \(latent) (part \(part)) is outside the \(limit) tokens / \(part < spills.count && part >= 0 ? spills[part].latentCount : 0) latents")
        }
        spills[part].append(position: UInt32(tokenPosition), latent: UInt32(latent), value: activation)
    }

    private func reject(_ what: String) {
        rejected += 1
        lastRejection = what
    }

    /// Ends the current row; checkpoints every `checkpointEveryRows` rows.
    public func endRow() throws {
        guard rowOpen else { throw CacheError.invalidArgument("endRow without beginRow") }
        if rejected > 0 {
            let n = rejected
            rejected = 0
            throw CacheError.invalidArgument("\(n) activations in row \(rowsCompleted) were out of range (last: \(lastRejection))")
        }
        rowOpen = false
        rowsCompleted += 1
        if options.checkpointEveryRows > 0, rowsCompleted % options.checkpointEveryRows == 0 { try checkpoint() }
    }

    /// Makes everything streamed so far durable; a killed build resumes from here.
    public func checkpoint() throws {
        guard !rowOpen else { throw CacheError.invalidArgument("checkpoint inside a row") }
        try tokenWriter.sync()
        for s in spills { try s.sync() }
        state.rowsCompleted = rowsCompleted
        state.tokenFileLength = tokenWriter.length
        state.tokenCRC = tokenCRC
        state.spillLengths = spills.map(\.length)
        do { try AtomicFile.writeJSON(state, to: partialPath + "/state.json") } catch {
            throw CacheError.writeFailed(path: partialPath + "/state.json", reason: "\(error)")
        }
    }

    // MARK: - Finishing

    /// Computes every latent's record and writes the cache; returns its path.
    /// - Parameter progress: called with (latents done, latents in all parts).
    @discardableResult
    public func finalize(progress: ((Int, Int) -> Void)? = nil) throws -> String {
        guard !rowOpen else { throw CacheError.invalidArgument("finalize inside a row: call endRow first") }
        try checkpoint()
        let totalTokens = tokenCount
        try TokenStore.finishFile(writer: tokenWriter, tokenCount: totalTokens, rowLength: options.rowLength, crc: tokenCRC,
                                  version: options.formatVersion, bytesPerToken: bytesPerToken)
        try tokenWriter.finish()

        var manifests: [PartManifest] = []
        let total = parts.reduce(0) { $0 + $1.latentCount }
        var done = 0
        for (i, p) in parts.enumerated() {
            let dir = String(format: "%@/%02d-%@", CacheFormat.partsFolder, i, LatentCacheBuilder.folderName(p.name))
            try FileUtil.makeDirectory(stagingPath + "/" + dir)
            try PartFinalizer(spill: spills[i], spec: p, partIndex: i, directory: stagingPath + "/" + dir,
                              totalTokens: totalTokens, options: options).run { n in progress?(done + n, total) }
            done += p.latentCount
            manifests.append(PartManifest(spec: p, directory: dir, hasAllActivations: options.keepAllActivations))
        }
        let manifest = CacheManifest(format: CacheManifest.formatName, version: options.formatVersion, metadata: state.metadata,
                                     examples: options.examples,
                                     tokens: TokenStoreInfo(tokenCount: totalTokens, rowLength: options.rowLength, rows: rowsCompleted,
                                                            bytesPerToken: options.formatVersion == 1 ? nil : bytesPerToken),
                                     vocabularyCount: state.vocabularyCount, vocabularySource: state.vocabularySource, parts: manifests)
        do { try AtomicFile.writeJSON(manifest, to: stagingPath + "/" + CacheFormat.manifestFile) } catch {
            throw CacheError.writeFailed(path: stagingPath + "/" + CacheFormat.manifestFile, reason: "\(error)")
        }
        FileUtil.fsyncDirectory(stagingPath)

        // Swap the finished folder in: an old cache is moved aside first, then removed.
        let aside = outputPath + ".old-\(getpid())"
        if FileUtil.exists(outputPath) {
            guard rename(outputPath, aside) == 0 else { throw CacheError.writeFailed(path: outputPath, reason: String(cString: strerror(errno))) }
        }
        guard rename(stagingPath, outputPath) == 0 else {
            throw CacheError.writeFailed(path: outputPath, reason: "rename from \(stagingPath): \(String(cString: strerror(errno)))")
        }
        FileUtil.fsyncDirectory(FileUtil.parent(outputPath).isEmpty ? "." : FileUtil.parent(outputPath))
        try? FileManager.default.removeItem(atPath: aside)
        try? FileManager.default.removeItem(atPath: partialPath)
        return outputPath
    }

    /// Drops the interrupted build (used by tests and `--restart`).
    public func discard() {
        try? FileManager.default.removeItem(atPath: partialPath)
    }

    /// A file-system-safe folder name for a part.
    static func folderName(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let s = String(name.map { allowed.contains($0) ? $0 : "_" }.prefix(80))
        return s.isEmpty || s.allSatisfy({ $0 == "." }) ? "part" : s
    }
}
