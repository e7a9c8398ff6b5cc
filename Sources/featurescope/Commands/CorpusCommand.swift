import ArgumentParser
import Corpus
import FeaturescopeCore
import Foundation

/// `featurescope corpus`: tokenizes text and packs it into `train.tokens` and `heldout.tokens`.
struct CorpusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Tokenize text and pack it into train.tokens and heldout.tokens.",
        discussion: """
            INPUT is a .txt file (one document), a folder (every .txt and .jsonl under it, in sorted \
            order) or a .jsonl file (one JSON object per line; the text is in --text-field, optional \
            "source" and "title" fields name the document). Documents are tokenized with the model's \
            tokenizer, each followed by EOS, concatenated and cut into rows of --context-length tokens; \
            the last partial row is dropped. Each document goes to the held-out file when a hash of its \
            source and title falls below --heldout-fraction, so the split is stable across runs. \
            Build the default English corpus first with scripts/fetch-corpus (see docs/corpus.md).
            """)

    @Argument(help: "Input .txt/.jsonl files or folders.")
    var inputs: [String]

    @Option(name: .long, help: "Output folder for train.tokens and heldout.tokens.")
    var out: String

    @Option(name: .long, help: "Tokens per row.")
    var contextLength: Int = 256

    @Option(name: .long, help: "Share of documents assigned to heldout.tokens, in [0, 1).")
    var heldoutFraction: Double = 0.05

    @Option(name: .long, help: "Field of .jsonl lines that holds the text.")
    var textField: String = "text"

    @Option(name: .long, help: "Stop after about this many tokens (EOS included).")
    var maxTokens: Int?

    @Option(name: .long, help: "Model GGUF whose tokenizer is used (default: the cached SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "Documents tokenized in parallel (default: the number of cores).")
    var workers: Int?

    @Flag(name: .long, help: "Print the summary as JSON (no progress bar).")
    var json = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
        guard contextLength > 0 else { throw ValidationError("--context-length must be positive") }
        guard heldoutFraction >= 0, heldoutFraction < 1 else {
            throw ValidationError("--heldout-fraction must be in [0, 1), got \(heldoutFraction)")
        }
        if let m = maxTokens, m <= 0 { throw ValidationError("--max-tokens must be positive") }
        if let w = workers, w <= 0 { throw ValidationError("--workers must be positive") }
    }

    func run() async throws {
        let modelPath = model ?? CorpusCommand.defaultModelPath()
        let encoder = try CorpusEncoder.load(modelPath: modelPath)
        var options = CorpusPackOptions(contextLength: contextLength, heldoutFraction: heldoutFraction,
                                        textField: textField, maxTokens: maxTokens)
        options.tokenizerName = encoder.name
        options.command = (["featurescope"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        options.workers = workers ?? ProcessInfo.processInfo.activeProcessorCount

        var bar: ProgressBar?
        let summary = try CorpusPacker.pack(
            inputs: inputs, outputDirectory: out, options: options,
            vocabSize: encoder.vocabSize, eosTokenId: encoder.eosTokenId, encode: encoder.encode
        ) { p in
            if bar == nil { bar = ProgressBar(total: p.bytesTotal, label: "corpus", unit: "B", enabled: !json) }
            bar?.update(p.bytesDone, extra: "\(p.tokens) tokens, \(p.documents) docs")
        }
        bar?.finish()

        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
            return
        }
        print(CorpusCommand.report(summary, tokenizer: encoder.name))
    }

    static func defaultModelPath() -> String {
        (FeaturescopePaths.cacheDirectory() as NSString).appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// The human-readable summary.
    static func report(_ s: CorpusPackSummary, tokenizer: String) -> String {
        func line(_ name: String, _ split: CorpusPackSummary.Split) -> String {
            "\(name): \(split.tokens) tokens in \(split.rows) rows of \(s.contextLength), "
                + "\(split.documents) documents (\(split.droppedTokens) tokens of the last partial row dropped) -> "
                + SafeText.sanitize(split.path)
        }
        var lines = [
            line("train  ", s.train),
            line("heldout", s.heldout),
            "read \(s.documentsRead) documents from \(s.inputFiles) files (\(s.textBytes) bytes of text), "
                + "\(s.encodedTokens) tokens with EOS, tokenizer \(SafeText.sanitize(tokenizer))",
            String(format: "%.1f s, %.0f tokens/s", s.seconds, s.tokensPerSecond),
        ]
        if s.stoppedAtMaxTokens { lines.append("stopped at --max-tokens") }
        return lines.joined(separator: "\n")
    }
}

/// The tokenizer seam of `featurescope corpus`: text → token ids, the vocabulary and EOS.
struct CorpusEncoder: Sendable {
    let name: String
    let vocabSize: Int
    let eosTokenId: Int32
    let encode: @Sendable (String) throws -> [Int32]

    /// Loads the tokenizer of the model at `modelPath`.
    static func load(modelPath: String) throws -> CorpusEncoder {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw CorpusCommandError("model not found at \(modelPath) (fetch it with 'featurescope model fetch' or pass --model)")
        }
        throw CorpusCommandError("the engine's tokenizer is not available in this build yet")
    }
}

/// A run-time failure of `featurescope corpus` (printed without the usage text).
struct CorpusCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
