import Foundation
import FeaturescopeCore
import TensorFormats

/// Where an SAE's training activations came from (goes into SAELens' `metadata`).
public struct TrainingProvenance: Codable, Equatable, Sendable {
    public var modelName: String
    public var hookName: String
    public var contextSize: Int
    public var datasetPath: String
    /// SmolLM2 adds no BOS token; packed rows do not start with one.
    public var prependBOS: Bool = false

    public init(modelName: String, hookName: String, contextSize: Int, datasetPath: String, prependBOS: Bool = false) {
        self.modelName = modelName
        self.hookName = hookName
        self.contextSize = contextSize
        self.datasetPath = datasetPath
        self.prependBOS = prependBOS
    }
}

/// Writes a trained TopK SAE as a SAELens v6 folder.
///
/// Files: `cfg.json` (nested v6 config: `architecture: topk`, `k`, `d_in`, `d_sae`,
/// `apply_b_dec_to_input: true`, `normalize_activations: none`, `reshape_activations: hook_z`
/// for hook_z hooks, `metadata` {model_name, hook_name, context_size, dataset_path, …}),
/// `sae_weights.safetensors` (F32 `W_enc` [d_in, d_sae], `b_enc` [d_sae], `W_dec` [d_sae, d_in],
/// `b_dec` [d_in]) and optionally `sparsity.safetensors` (`sparsity` [d_sae] =
/// log10(firing fraction + 1e-10)).
///
/// Training ran on inputs scaled by `inputScale` (so E‖x‖ = √d_in). The scale is folded into
/// the saved weights so the file works on raw activations with the same TopK choices:
/// b_enc and b_dec are divided by the scale, W_enc and the unit-norm W_dec are unchanged, and
/// latent activations come out in raw units (each latent's contribution has norm = its value).
public enum SAELensExport {
    /// The SAELens version whose format is written (v6 nested config).
    public static let saeLensFormatVersion = "6.12.1"

    public static func write(_ sae: TopKSAEWeights, inputScale: Float, provenance: TrainingProvenance,
                             firingFraction: [Float]?, to directory: String) throws {
        guard inputScale > 0, inputScale.isFinite else {
            throw TrainingError.invalidConfig("input scale \(inputScale) must be positive and finite")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.invalidStore(path: directory, reason: "cannot create folder: \(error.localizedDescription)")
        }
        let d = sae.dIn, n = sae.dSAE
        // W_enc [d_in, d_sae] = transpose of the latent-major encoder.
        var wEnc = [Float](repeating: 0, count: d * n)
        let enc = sae.encoder.pointer
        for l in 0 ..< n { for j in 0 ..< d { wEnc[j * n + l] = enc[l * d + j] } }
        let bEnc = sae.encoderBias.array.map { $0 / inputScale }
        let bDec = sae.decoderBias.array.map { $0 / inputScale }

        var w = SafetensorsWriter()
        try w.add("W_enc", dtype: .F32, shape: [d, n], data: wEnc.withUnsafeBufferPointer { Data(buffer: $0) })
        try w.add("b_enc", dtype: .F32, shape: [n], data: bEnc.withUnsafeBufferPointer { Data(buffer: $0) })
        try w.add("W_dec", dtype: .F32, shape: [n, d], data: sae.decoder.data)
        try w.add("b_dec", dtype: .F32, shape: [d], data: bDec.withUnsafeBufferPointer { Data(buffer: $0) })
        try w.write(to: directory + "/sae_weights.safetensors")

        if let f = firingFraction {
            guard f.count == n else {
                throw TrainingError.invalidConfig("firing fractions have \(f.count) entries, expected \(n)")
            }
            var s = SafetensorsWriter()
            let logs = f.map { Float(log10(Double($0) + 1e-10)) }
            try s.add("sparsity", dtype: .F32, shape: [n], data: logs.withUnsafeBufferPointer { Data(buffer: $0) })
            try s.write(to: directory + "/sparsity.safetensors")
        }

        let cfg = configDictionary(dIn: d, dSAE: n, k: sae.k, provenance: provenance)
        let json = try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(json, to: directory + "/cfg.json")
    }

    /// The nested SAELens v6 `cfg.json` contents.
    public static func configDictionary(dIn: Int, dSAE: Int, k: Int, provenance p: TrainingProvenance) -> [String: Any] {
        let meta: [String: Any] = [
            "model_name": p.modelName,
            "hook_name": p.hookName,
            "hook_head_index": NSNull(),
            "context_size": p.contextSize,
            "prepend_bos": p.prependBOS,
            "dataset_path": p.datasetPath,
            "neuronpedia_id": NSNull(),
            "model_class_name": "HookedTransformer",
            "exclude_special_tokens": false,
            "sae_lens_version": saeLensFormatVersion,
            "sae_lens_training_version": saeLensFormatVersion,
        ]
        return [
            "architecture": "topk",
            "d_in": dIn,
            "d_sae": dSAE,
            "k": k,
            "dtype": "float32",
            "device": "cpu",
            "apply_b_dec_to_input": true,
            "normalize_activations": "none",
            "reshape_activations": p.hookName.hasSuffix("hook_z") ? "hook_z" : "none",
            "rescale_acts_by_decoder_norm": false,
            "metadata": meta,
        ]
    }
}
