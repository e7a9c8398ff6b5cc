import ActivationPipeline
import ArgumentParser
import Corpus
import FeaturescopeCore
import Foundation
import ModelEngine

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
    var inputs: [String] = []

    @Option(name: .long, help: "Output folder for train.tokens and heldout.tokens.")
    var out: String?

    @Option(name: .long, help: "Instead of packing, describe this .tokens file and decode its first rows.")
    var inspect: String?

    @Option(name: .long, help: "Rows decoded by --inspect.")
    var showRows: Int = 2

    @Option(name: .long, help: "Tokens per row.")
    var contextLength: Int = 256

    @Option(name: .long, help: "Share of documents assigned to heldout.tokens, in [0, 1).")
    var heldoutFraction: Double = 0.05

    @Option(name: .long, help: "Field of .jsonl lines that holds the text.")
    var textField: String = "text"

    @Option(name: .long, help: "Stop after about this many tokens (EOS included).")
    var maxTokens: Int?

    @Option(name: .long, help: "Model GGUF whose tokenizer is used (default: $FEATURESCOPE_MODEL, else the cached SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "Documents tokenized in parallel (default: the number of cores).")
    var workers: Int?

    @Flag(name: .long, help: "Print the summary as JSON (no progress bar).")
    var json = false

    func validate() throws {
        if inspect != nil {
            guard inputs.isEmpty, out == nil else { throw ValidationError("--inspect takes no INPUT and no --out") }
            guard showRows >= 0 else { throw ValidationError("--show-rows must be 0 or more") }
            return
        }
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
        guard out != nil else { throw ValidationError("give the output folder with --out DIR") }
        guard contextLength > 0 else { throw ValidationError("--context-length must be positive") }
        guard heldoutFraction >= 0, heldoutFraction < 1 else {
            throw ValidationError("--heldout-fraction must be in [0, 1), got \(heldoutFraction)")
        }
        if let m = maxTokens, m <= 0 { throw ValidationError("--max-tokens must be positive") }
        if let w = workers, w <= 0 { throw ValidationError("--workers must be positive") }
    }

    func run() async throws {
        if let inspect {
            try CorpusInspection.run(path: inspect, rows: showRows, model: model, json: json)
            return
        }
        guard let out else { throw ValidationError("give the output folder with --out DIR") }
        let encoder = try CorpusEncoder.load(modelPath: ModelLocator.resolve(explicit: model))
        var options = CorpusPackOptions(contextLength: contextLength, heldoutFraction: heldoutFraction,
                                        textField: textField, maxTokens: maxTokens)
        options.tokenizerName = encoder.name
        options.command = (["featurescope"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        options.workers = workers ?? ProcessInfo.processInfo.activeProcessorCount

        var bar: ProgressBar?
        let summary: CorpusPackSummary
        do {
            summary = try CorpusPacker.pack(
                inputs: inputs, outputDirectory: out, options: options,
                vocabSize: encoder.vocabSize, eosTokenId: encoder.eosTokenId, encode: encoder.encode
            ) { p in
                if bar == nil { bar = ProgressBar(total: p.bytesTotal, label: "corpus", unit: "B", enabled: !json) }
                bar?.update(p.bytesDone, extra: "\(p.tokens) tokens, \(p.documents) docs")
            }
        } catch {
            bar?.finish()  // end the progress line before the error is printed
            throw error
        }
        bar?.finish(extra: "\(summary.encodedTokens) tokens, \(summary.documentsRead) docs")

        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
            return
        }
        print(CorpusCommand.report(summary, tokenizer: encoder.name))
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

/// `featurescope corpus --inspect FILE`: header, provenance summary and the first rows decoded.
enum CorpusInspection {
    static func run(path: String, rows: Int, model: String?, json: Bool) throws {
        // Decoding needs the tokenizer; without the model the ids are still shown.
        let tokenizer = try? Tokenizer(modelAt: ModelLocator.locate(explicit: model))
        let report = try TokenFileReport.make(path: path, rows: rows, decode: tokenizer.map { t in { t.decode($0) } })
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        var lines = [
            "\(SafeText.sanitize(path)): .tokens v\(report.version), \(report.rowCount) rows × \(report.contextLength) = "
                + "\(report.tokenCount) tokens, vocabulary \(report.vocabSize), EOS \(report.eosTokenId)",
            "split \(SafeText.sanitize(report.split)), \(report.documents) documents from \(report.sources.count) sources, "
                + "\(report.droppedTokens) tokens dropped, tokenizer \(SafeText.sanitize(report.tokenizer))",
            "made by: \(SafeText.sanitize(report.command))",
        ]
        for row in report.rows {
            lines.append("row \(row.index): " + (row.text.map { SafeText.sanitize($0) }
                ?? row.ids.map(String.init).joined(separator: " ")))
        }
        print(lines.joined(separator: "\n"))
    }
}
