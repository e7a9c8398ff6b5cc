import Foundation

/// Settings for `CorpusPacker.pack`.
public struct CorpusPackOptions: Sendable {
    /// Tokens per row.
    public var contextLength: Int = 256
    /// Share of documents assigned to `heldout.tokens` (see `HeldOutSplit`).
    public var heldoutFraction: Double = 0.05
    /// Field of `.jsonl` lines that holds the text.
    public var textField: String = "text"
    /// Stop reading documents once this many tokens (EOS included) are packed.
    public var maxTokens: Int?
    /// Name of the tokenizer/model recorded in the provenance.
    public var tokenizerName: String = "unknown"
    /// The command line recorded in the provenance.
    public var command: String = ""
    /// Documents encoded concurrently (the encoder must be thread-safe when > 1).
    public var workers: Int = 1
    /// Documents per encoding batch.
    public var batchDocuments: Int = 64

    public init(contextLength: Int = 256, heldoutFraction: Double = 0.05, textField: String = "text",
                maxTokens: Int? = nil, tokenizerName: String = "unknown", command: String = "",
                workers: Int = 1, batchDocuments: Int = 64) {
        self.contextLength = contextLength
        self.heldoutFraction = heldoutFraction
        self.textField = textField
        self.maxTokens = maxTokens
        self.tokenizerName = tokenizerName
        self.command = command
        self.workers = workers
        self.batchDocuments = batchDocuments
    }
}

/// What `CorpusPacker.pack` produced.
public struct CorpusPackSummary: Codable, Equatable, Sendable {
    public struct Split: Codable, Equatable, Sendable {
        public var path: String
        public var documents: Int
        public var rows: Int
        /// Tokens stored (rows × context length).
        public var tokens: Int
        /// Tokens of the final partial row that were dropped.
        public var droppedTokens: Int
    }
    public var train: Split
    public var heldout: Split
    public var contextLength: Int
    public var heldoutFraction: Double
    public var inputFiles: Int
    public var documentsRead: Int
    /// Tokens produced by the encoder plus one EOS per document.
    public var encodedTokens: Int
    /// Input bytes of text that were tokenized.
    public var textBytes: Int
    public var seconds: Double
    public var tokensPerSecond: Double
    /// True when `maxTokens` stopped the run before the inputs ran out.
    public var stoppedAtMaxTokens: Bool
}

/// Progress of a packing run, reported after every batch.
public struct CorpusPackProgress: Sendable {
    public var bytesDone: Int
    public var bytesTotal: Int
    public var tokens: Int
    public var documents: Int
}

/// Tokenizes documents and packs them into `train.tokens` and `heldout.tokens`.
public enum CorpusPacker {
    public static let trainFileName = "train.tokens"
    public static let heldoutFileName = "heldout.tokens"

    /// Packs every document of `inputs` (see `CorpusReader`) into two token files in `outputDirectory`.
    /// - Parameters:
    ///   - encode: text → token ids, without BOS/EOS (the packer adds EOS after each document).
    ///   - progress: called after each batch of documents.
    public static func pack(inputs: [String], outputDirectory: String, options: CorpusPackOptions,
                            vocabSize: Int, eosTokenId: Int32,
                            encode: @escaping @Sendable (String) throws -> [Int32],
                            progress: ((CorpusPackProgress) -> Void)? = nil) throws -> CorpusPackSummary {
        guard options.contextLength > 0 else {
            throw CorpusError.invalidOption("--context-length must be positive, got \(options.contextLength)")
        }
        guard options.heldoutFraction >= 0, options.heldoutFraction < 1 else {
            throw CorpusError.invalidOption("--heldout-fraction must be in [0, 1), got \(options.heldoutFraction)")
        }
        if let m = options.maxTokens, m <= 0 {
            throw CorpusError.invalidOption("--max-tokens must be positive, got \(m)")
        }
        let files = try CorpusReader.inputFiles(inputs)
        guard !files.isEmpty else {
            throw CorpusError.invalidOption("no .txt or .jsonl input found in \(inputs.joined(separator: ", "))")
        }
        let start = Date()
        let trainPath = (outputDirectory as NSString).appendingPathComponent(trainFileName)
        let heldoutPath = (outputDirectory as NSString).appendingPathComponent(heldoutFileName)
        let train = try TokenFileWriter(path: trainPath, contextLength: options.contextLength,
                                        vocabSize: vocabSize, eosTokenId: eosTokenId)
        let heldout = try TokenFileWriter(path: heldoutPath, contextLength: options.contextLength,
                                          vocabSize: vocabSize, eosTokenId: eosTokenId)
        var state = RunState(bytesTotal: files.reduce(0) { $0 + $1.byteCount })
        progress?(CorpusPackProgress(bytesDone: 0, bytesTotal: state.bytesTotal, tokens: 0, documents: 0))
        do {
            var batch: [(CorpusDocument, Int)] = []
            func flush() throws {
                try encodeAndAppend(batch, options: options, encode: encode, train: train, heldout: heldout, state: &state)
                batch.removeAll(keepingCapacity: true)
                progress?(CorpusPackProgress(bytesDone: state.bytesDone, bytesTotal: state.bytesTotal,
                                             tokens: state.tokens, documents: state.documents))
            }
            fileLoop: for file in files {
                var keepGoing = true
                try CorpusReader.forEachDocument(in: file, textField: options.textField) { doc, consumed in
                    batch.append((doc, consumed))
                    if batch.count >= max(1, options.batchDocuments) {
                        try flush()
                        if state.stopped { keepGoing = false; return false }
                    }
                    return true
                }
                if !keepGoing { break fileLoop }
            }
            if !state.stopped && !batch.isEmpty { try flush() }

            let inputsList = inputs
            func provenance(_ split: String) -> TokenFileProvenance {
                var notes = ["heldout_fraction": String(options.heldoutFraction),
                             "split_rule": "held out when HeldOutSplit.unitValue(source, title) < heldout_fraction "
                                 + "(FNV-1a 64 of source, 0x1F, title; SplitMix64 finaliser)",
                             "packing": "documents concatenated with EOS after each, cut into rows of context_length; "
                                 + "last partial row dropped",
                             "context_length": String(options.contextLength)]
                if let m = options.maxTokens { notes["max_tokens"] = String(m) }
                return TokenFileProvenance(tokenizer: options.tokenizerName, command: options.command,
                                           split: split, inputs: inputsList, notes: notes)
            }
            let trainHeader = try train.finish(provenance: provenance("train"))
            let heldoutHeader = try heldout.finish(provenance: provenance("heldout"))
            let seconds = Date().timeIntervalSince(start)
            func split(_ path: String, _ header: TokenFileHeader, _ docs: Int, _ appended: Int) -> CorpusPackSummary.Split {
                CorpusPackSummary.Split(path: path, documents: docs, rows: header.rowCount, tokens: header.tokenCount,
                                        droppedTokens: appended - header.tokenCount)
            }
            return CorpusPackSummary(
                train: split(trainPath, trainHeader, state.trainDocuments, state.trainTokens),
                heldout: split(heldoutPath, heldoutHeader, state.heldoutDocuments, state.heldoutTokens),
                contextLength: options.contextLength, heldoutFraction: options.heldoutFraction,
                inputFiles: files.count, documentsRead: state.documents, encodedTokens: state.tokens,
                textBytes: state.textBytes, seconds: seconds,
                tokensPerSecond: seconds > 0 ? Double(state.tokens) / seconds : 0,
                stoppedAtMaxTokens: state.stopped)
        } catch {
            train.cancel()
            heldout.cancel()
            throw error
        }
    }

    struct RunState {
        var bytesTotal: Int
        var bytesDone = 0
        var textBytes = 0
        var tokens = 0
        var documents = 0
        var trainDocuments = 0
        var heldoutDocuments = 0
        var trainTokens = 0
        var heldoutTokens = 0
        var stopped = false
    }

    private static func encodeAndAppend(_ batch: [(CorpusDocument, Int)], options: CorpusPackOptions,
                                        encode: @escaping @Sendable (String) throws -> [Int32],
                                        train: TokenFileWriter, heldout: TokenFileWriter,
                                        state: inout RunState) throws {
        guard !batch.isEmpty, !state.stopped else { return }
        let results = ConcurrentResults(count: batch.count)
        let texts = batch.map(\.0.text)
        if options.workers > 1 && batch.count > 1 {
            DispatchQueue.concurrentPerform(iterations: min(options.workers, batch.count)) { worker in
                var i = worker
                while i < texts.count {
                    results.set(i, Result { try encode(texts[i]) })
                    i += options.workers
                }
            }
        } else {
            for i in texts.indices { results.set(i, Result { try encode(texts[i]) }) }
        }
        for (i, (doc, consumed)) in batch.enumerated() {
            let tokens = try results.get(i).get()
            let held = HeldOutSplit.isHeldOut(source: doc.source, title: doc.title, fraction: options.heldoutFraction)
            try (held ? heldout : train).append(tokens, source: doc.source, title: doc.title)
            let count = tokens.count + 1
            if held { state.heldoutDocuments += 1; state.heldoutTokens += count } else {
                state.trainDocuments += 1; state.trainTokens += count
            }
            state.tokens += count
            state.documents += 1
            state.bytesDone += consumed
            state.textBytes += doc.text.utf8.count
            if let m = options.maxTokens, state.tokens >= m {
                state.stopped = true
                return
            }
        }
    }
}

/// Per-index result slots written by concurrent workers (each index by one worker only).
private final class ConcurrentResults: @unchecked Sendable {
    private var slots: [Result<[Int32], Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<[Int32], Error>) { lock.lock(); slots[i] = value; lock.unlock() }
    func get(_ i: Int) -> Result<[Int32], Error> {
        lock.lock(); defer { lock.unlock() }
        return slots[i] ?? .failure(CorpusError.invalidOption("document \(i) of the batch was not encoded"))
    }
}
