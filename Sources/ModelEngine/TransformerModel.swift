import CBLAS
import Foundation
import TensorFormats

/// A decoder-only transformer (Llama, Qwen2, Gemma 2/3, GPT-2, GPT-NeoX) running in process: load once, then `forward` (prompt processing, hooks, interventions)
/// or a `Generator` (KV cache, one token at a time). Immutable after load, so one instance can be shared
/// across tasks; every call uses its own scratch state.
///
/// ```swift
/// let model = try TransformerModel(path: ModelLocator.locate(explicit: nil))
/// let r = try model.forward(tokens: ids, captures: [.z(3), .residPost(5)], logits: .none)  // stops after block 5
/// let z = r.activation(.z(3))!                          // shape [T, 576], heads head-major
/// let spliced = try model.nextTokenCrossEntropy(tokens: ids, interventions: [.z(3): { t in /* edit t.data */ }])
/// let text = try Generator(model: model).generate(prompt: ids, maxNewTokens: 64)  // greedy, stops at <|im_end|>
/// ```
public final class TransformerModel: Sendable {
    /// File or folder the model was loaded from.
    public let path: String
    public let config: ModelConfig
    public let weights: ModelWeights
    /// End-of-sequence token from the GGUF (`tokenizer.ggml.eos_token_id`) or the folder's
    /// `generation_config.json` / `config.json` (`eos_token_id`, the first when a list).
    public let eosTokenID: Int32?
    /// Tokens that end a generation: EOS plus `<|im_end|>` and `<|endoftext|>` when the vocabulary has them.
    public let stopTokenIDs: Set<Int32>
    /// Worker threads of the quantized single-token kernels.
    public let decodeThreads: Int
    /// Seconds spent loading (parse + dequantize + repack).
    public let loadSeconds: Double
    /// Scratch memory reused between forward passes.
    let statePool = RunStatePool()

    /// Loads the GGUF file or Hugging Face model folder (`config.json` + safetensors) at `path`.
    public convenience init(path: String, decodeThreads: Int? = nil) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw EngineError.modelNotFound(path: path, hint: ModelLocator.fetchHint)
        }
        if isFolder.boolValue {
            try self.init(huggingFaceFolder: path, decodeThreads: decodeThreads)
        } else {
            try self.init(gguf: GGUFFile(path: path), decodeThreads: decodeThreads)
        }
    }

    /// Loads the model from an opened GGUF file.
    public convenience init(gguf: GGUFFile, decodeThreads: Int? = nil) throws {
        let start = Date()
        let config = try ModelConfig(gguf: gguf)
        let weights = try ModelWeights(gguf: gguf, config: config)
        let eos = (try? gguf.int("tokenizer.ggml.eos_token_id")).flatMap { Int32(exactly: $0) }
        var stops = Set<Int32>()
        if let e = eos { stops.insert(e) }
        if let tokens = try? gguf.stringArray("tokenizer.ggml.tokens") {
            for special in Self.stopTokenTexts {
                if let i = tokens.firstIndex(of: special), let id = Int32(exactly: i) { stops.insert(id) }
            }
        }
        self.init(path: gguf.path, config: config, weights: weights, eosTokenID: eos, stopTokenIDs: stops,
                  decodeThreads: decodeThreads, loadStart: start)
    }

    /// A model from its parts (any weight source).
    init(path: String, config: ModelConfig, weights: ModelWeights, eosTokenID: Int32?, stopTokenIDs: Set<Int32>,
         decodeThreads: Int?, loadStart: Date) {
        self.path = path
        self.config = config
        self.weights = weights
        self.eosTokenID = eosTokenID
        self.stopTokenIDs = stopTokenIDs
        self.decodeThreads = max(1, min(decodeThreads ?? ProcessInfo.processInfo.activeProcessorCount, 16))
        loadSeconds = Date().timeIntervalSince(loadStart)
    }

    /// Texts of special tokens that end a turn or a document in the supported families.
    static let stopTokenTexts = ["<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>", "<end_of_turn>", "<|end_of_text|>"]

    /// Sets the number of OpenBLAS threads (process-wide) used by prompt processing.
    public static func setBLASThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, min(n, 64))))
    }

    // MARK: - Public forward API

    /// Runs `tokens` (one sequence, positions 0 ..< T) through the model.
    ///
    /// - captures: hooks whose activations are returned (after any intervention on the same hook).
    /// - logits: which logits to compute; with `.none` the pass stops after the last block a hook needs.
    /// - interventions: changes applied in place at hooks before the model continues.
    /// - frozenPatterns: attention patterns [heads, T, T] by layer (captured from another run of ≥ T tokens)
    ///   used instead of computing them: the values still come from this run (frozen attention).
    /// - int8Activations: multiply int8-quantized activations with the stored blocks (the generator's quantized
    ///   prompt path, as llama.cpp computes): several times faster on quantized models, but logits and hooks are no
    ///   longer the exact Float reference (docs/performance.md gives the deviations). For embeddings and scorers,
    ///   never for references, captures users compare, or caches.
    public func forward(tokens: [Int32], captures: Set<HookPoint> = [], logits: LogitsMode = .last,
                        interventions: [HookPoint: HookIntervention] = [:],
                        frozenPatterns: [Int: HookTensor] = [:], int8Activations: Bool = false) throws -> ForwardResult {
        let results = try forward(batch: [tokens], captures: captures, logits: logits, interventions: interventions,
                                  frozenPatterns: frozenPatterns, int8Activations: int8Activations)
        guard let first = results.first else { throw EngineError.emptyInput(what: "forward") }
        return first
    }

    /// Runs several independent sequences in one pass: the matrix products cover all their tokens at once,
    /// attention stays within each sequence. Captures and interventions apply to each sequence separately.
    /// `int8Activations` as in `forward(tokens:…)`.
    public func forward(batch: [[Int32]], captures: Set<HookPoint> = [], logits: LogitsMode = .last,
                        interventions: [HookPoint: HookIntervention] = [:],
                        frozenPatterns: [Int: HookTensor] = [:], int8Activations: Bool = false) throws -> [ForwardResult] {
        guard !batch.isEmpty else { throw EngineError.emptyInput(what: "forward(batch:)") }
        var spans: [SequenceSpan] = []
        var row = 0
        for seq in batch {
            guard !seq.isEmpty else { throw EngineError.emptyInput(what: "sequence \(spans.count) of the batch") }
            guard seq.count <= config.contextLength else {
                throw EngineError.sequenceTooLong(length: seq.count, limit: config.contextLength, what: "sequence \(spans.count)")
            }
            spans.append(SequenceSpan(row: row, count: seq.count, startPos: 0))
            row += seq.count
        }
        let state = statePool.take(config: config, capacity: row)
        defer { statePool.give(state) }
        return try run(tokens: batch.flatMap { $0 }, spans: spans, state: state, cache: nil,
                       captures: captures, logits: logits, interventions: interventions,
                       frozenPatterns: frozenPatterns, quantized: int8Activations)
    }

    /// Per-position next-token cross-entropy in nats: element t is −log p(tokens[t+1] | tokens[...t]),
    /// T − 1 values. Interventions (e.g. an SAE splice) apply as in `forward`.
    public func nextTokenCrossEntropy(tokens: [Int32], interventions: [HookPoint: HookIntervention] = [:]) throws -> [Float] {
        guard tokens.count >= 2 else { return [] }
        let result = try forward(tokens: tokens, logits: .all, interventions: interventions)
        return Logits.crossEntropy(logits: result.logits, vocab: config.vocabSize, targets: Array(tokens.dropFirst()))
    }

    /// The cross-entropies of positions `start ..< T − 1` only (element i is −log p(tokens[start + i + 1] | …)),
    /// computing logits for those positions alone (a large vocabulary's output head dominates the pass
    /// otherwise); `int8Activations` as in `forward`.
    public func nextTokenCrossEntropy(tokens: [Int32], from start: Int, int8Activations: Bool = false) throws -> [Float] {
        guard tokens.count >= 2, (0 ..< tokens.count - 1).contains(start) else { return [] }
        let positions = Array(start ..< tokens.count - 1)
        let result = try forward(tokens: tokens, logits: .positions(positions), int8Activations: int8Activations)
        return Logits.crossEntropy(logits: result.logits, vocab: config.vocabSize, targets: Array(tokens[(start + 1)...]))
    }

    /// `nextTokenCrossEntropy` for several sequences in one batched pass (T_i − 1 values each).
    /// Logits for all positions are held at once: keep Σ T_i · vocab · 4 bytes in mind.
    public func nextTokenCrossEntropy(batch: [[Int32]], interventions: [HookPoint: HookIntervention] = [:]) throws -> [[Float]] {
        let results = try forward(batch: batch, logits: .all, interventions: interventions)
        return zip(batch, results).map { tokens, result in
            tokens.count < 2 ? [] : Logits.crossEntropy(logits: result.logits, vocab: config.vocabSize, targets: Array(tokens.dropFirst()))
        }
    }
}
