import CBLAS
import Foundation
import ModelEngine

// Transcoders read one hook and reconstruct another (docs/sae-formats.md, "Transcoders").
//
// SAELens 6 (`sae_lens/saes/transcoder.py`): architectures `transcoder`, `skip_transcoder`,
// `jumprelu_transcoder`, `jumprelu_skip_transcoder`; `d_out` beside `d_in`; the output hook in
// `metadata.hook_name_out` (older flat files: `hook_name_out`, `hook_layer_out`); tensors W_enc [d_in, d_sae],
// b_enc, W_dec [d_sae, d_out], b_dec [d_out], threshold (jumprelu), W_skip [d_out, d_in] (skip). The input is
// never shifted by b_dec (`apply_b_dec_to_input` must be false) and no run-time normalisation is undone on the
// output. Forward: acts = act(x·W_enc + b_enc); out = acts·W_dec + b_dec (+ x·W_skipᵀ).
//
// sparsify (`sparsify/sparse_coder.py`, `transcode: true`): `encoder.weight` [d_sae, d_in], `encoder.bias`,
// W_dec [d_sae, d_in], b_dec [d_in], optional W_skip [d_in, d_in] (`skip_connection: true`); encode skips the
// b_dec shift; the hookpoint is a module whose input it reads and whose output it writes.

extension SAEConfig {
    /// True for a transcoder (a decoder that writes another hook than the encoder reads).
    public var isTranscoder: Bool { metadata.hookNameOut != nil }

    /// The hook the decoder writes: `hook_name_out` for transcoders, `hook_name` for SAEs.
    public var outputHookName: String { metadata.hookNameOut ?? metadata.hookName }

    /// Transcoder-only rules (called by `validate`).
    func validateTranscoder(path: String) throws {
        guard isTranscoder else { return }
        if applyBDecToInput {
            throw SAEError.invalidConfigValue(path: path, field: "apply_b_dec_to_input", value: "true",
                                              expected: "false for a transcoder (b_dec has d_out values)")
        }
        guard normalizeActivations == .none else {
            throw SAEError.unsupported(path: path, feature: "normalize_activations '\(normalizeActivations.rawValue)' on a transcoder",
                                       reason: "SAELens does not undo it on the output hook; only 'none' is read")
        }
        guard architecture == .standard || architecture == .jumprelu || architecture == .topk else {
            throw SAEError.unsupported(path: path, feature: "\(architecture.rawValue) transcoder", reason: "transcoders are read as relu, jumprelu or topk")
        }
    }
}

/// SAELens's transcoder architecture names and the keys they add to `cfg.json`.
enum TranscoderNames {
    /// The encoder nonlinearity behind an architecture name (`jumprelu_skip_transcoder` → `jumprelu`);
    /// other names pass through.
    static func baseArchitecture(_ name: String) -> String {
        switch name {
        case "transcoder", "skip_transcoder": return "standard"
        case "jumprelu_transcoder", "jumprelu_skip_transcoder": return "jumprelu"
        default: return name
        }
    }

    static func isSkip(_ name: String) -> Bool { name == "skip_transcoder" || name == "jumprelu_skip_transcoder" }
}

/// The transcoder keys of a SAELens `cfg.json` (v6 nested `metadata`, or flat in older files).
struct SAELensTranscoderFields: Decodable {
    struct Meta: Decodable {
        var hookNameOut: String?
        var hookHeadIndexOut: FlexibleInt?
        enum CodingKeys: String, CodingKey { case hookNameOut = "hook_name_out", hookHeadIndexOut = "hook_head_index_out" }
    }
    var architecture: String?
    var dOut: FlexibleInt?
    var hookNameOut: String?
    var hookLayerOut: FlexibleInt?
    var hookHeadIndexOut: FlexibleInt?
    var metadata: Meta?

    enum CodingKeys: String, CodingKey {
        case architecture, dOut = "d_out", hookNameOut = "hook_name_out", hookLayerOut = "hook_layer_out"
        case hookHeadIndexOut = "hook_head_index_out", metadata
    }

    /// Adds the transcoder fields to `config` (resolved from the same file); returns true when the
    /// weights must hold W_skip. An SAE's config is left unchanged.
    static func apply(path: String, to config: inout SAEConfig, applyBDecGiven: Bool) throws -> Bool {
        let f = try ConfigReader.read(SAELensTranscoderFields.self, path: path)
        let arch = (f.architecture ?? "").lowercased()
        let named = arch.hasSuffix("transcoder")
        let out = f.metadata?.hookNameOut ?? f.hookNameOut
        guard named || out != nil || f.dOut != nil else { return false }
        guard named else {
            throw SAEError.invalidConfigValue(path: path, field: "architecture", value: f.architecture ?? "(none)",
                                              expected: "transcoder, skip_transcoder, jumprelu_transcoder or jumprelu_skip_transcoder when d_out / hook_name_out are set")
        }
        guard let out else { throw SAEError.missingConfigField(path: path, field: "metadata.hook_name_out") }
        if let head = f.metadata?.hookHeadIndexOut ?? f.hookHeadIndexOut {
            throw SAEError.unsupported(path: path, feature: "hook_head_index_out \(head.value)", reason: "transcoders writing one attention head are not read")
        }
        if let layer = f.hookLayerOut?.value, let named = HookNames.layer(of: HookNames.canonical(out)), layer != named {
            throw SAEError.invalidConfigValue(path: path, field: "hook_layer_out", value: "\(layer)", expected: "\(named), the layer of hook_name_out '\(out)'")
        }
        config.dOut = f.dOut?.value ?? config.dIn
        config.metadata.hookNameOut = HookNames.canonical(out)
        config.metadata.originalHookNameOut = out
        // SAELens defaults apply_b_dec_to_input to true, which a transcoder refuses; a file that
        // leaves the key out means the transcoder default (false).
        if !applyBDecGiven { config.applyBDecToInput = false }
        try config.validate(path: path)
        return TranscoderNames.isSkip(arch)
    }
}

/// Whether a SAELens `cfg.json` names `apply_b_dec_to_input` at all.
struct ApplyBDecProbe: Decodable {
    var applyBDecToInput: Bool?
    enum CodingKeys: String, CodingKey { case applyBDecToInput = "apply_b_dec_to_input" }
}

extension SparsifyConfigFile {
    /// The input and output hooks of a sparsify transcoder trained on module `hookpoint`: it reads the
    /// module's input and writes its output. `layers.L.mlp` reads the post-attention norm's output, gain
    /// applied (`blocks.L.mlp.hook_in`) and writes `blocks.L.hook_mlp_out`; `layers.L` reads
    /// `blocks.L.hook_resid_pre` and writes `blocks.L.hook_resid_post`; `layers.L.self_attn` reads
    /// `blocks.L.ln1.hook_normalized` and writes `blocks.L.hook_attn_out`.
    static func transcoderHooks(hookpoint: String) -> (input: String, output: String) {
        let out = HookNames.canonical(hookpoint)
        guard let layer = HookNames.layer(of: out) else { return (hookpoint + ".input", out) }
        if out.hasSuffix("hook_mlp_out") { return ("blocks.\(layer).mlp.hook_in", out) }
        if out.hasSuffix("hook_attn_out") { return ("blocks.\(layer).ln1.hook_normalized", out) }
        if out.hasSuffix("hook_resid_post") { return ("blocks.\(layer).hook_resid_pre", out) }
        return (hookpoint + ".input", out)
    }

    /// Turns the config an SAE would get into the transcoder's: input/output hooks, no b_dec shift.
    func applyTranscode(to config: inout SAEConfig, hookpoint: String) {
        guard transcode == true else { return }
        let hooks = Self.transcoderHooks(hookpoint: hookpoint)
        config.metadata.hookName = hooks.input
        config.metadata.originalHookName = hookpoint
        config.metadata.hookNameOut = hooks.output
        config.metadata.originalHookNameOut = hookpoint
        config.dOut = config.dIn
        config.applyBDecToInput = false
        config.reshapeActivations = "none"
    }
}

extension SparseAutoencoder {
    /// True for a transcoder (see `SAEConfig.isTranscoder`).
    public var isTranscoder: Bool { config.isTranscoder }

    /// The engine hook the decoder writes (the output hook of a transcoder, else the input hook).
    public var outputHookPoint: HookPoint? { try? HookPoint(config.outputHookName) }

    /// Decoder row of `latent` (d_out values): the direction it writes into the output hook.
    public func decoderRow(_ latent: Int) throws -> [Float] {
        guard latent >= 0, latent < dSAE else { throw SAEError.invalidArgument("latent \(latent) is not in 0..<\(dSAE)") }
        return Array(decoderWeight[latent * dOut ..< (latent + 1) * dOut])
    }

    /// The full forward pass on `count` input rows x [count, d_in]: decode(encode(x)) plus the skip
    /// connection x·W_skipᵀ when there is one. Returns [count, d_out], what a transcoder writes at its
    /// output hook (for an SAE, the reconstruction of its input).
    public func transcode(_ x: [Float], count n: Int, keepTop: Int? = nil) throws -> [Float] {
        var out = try decode(try encode(x, count: n, keepTop: keepTop))
        try addSkip(x, count: n, into: &out)
        return out
    }

    /// out[count, d_out] += x[count, d_in]·W_skipᵀ (no-op without W_skip).
    public func addSkip(_ x: [Float], count n: Int, into out: inout [Float]) throws {
        guard let w = skipWeight, n > 0 else { return }
        guard x.count == n * dIn, out.count == n * dOut else {
            throw SAEError.inputShape(what: "skip connection input [\(n), \(dIn)] / output [\(n), \(dOut)]", expected: n * dIn, found: x.count)
        }
        x.withUnsafeBufferPointer { xb in
            w.withUnsafeBufferPointer { wb in
                out.withUnsafeMutableBufferPointer { ob in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(dOut), Int32(dIn),
                                1, xb.baseAddress, Int32(dIn), wb.baseAddress, Int32(dIn), 1, ob.baseAddress, Int32(dOut))
                }
            }
        }
    }

    /// Throws for a transcoder: interventions that write the input hook are not defined for one.
    func requireAutoencoder(_ what: String) throws {
        guard isTranscoder else { return }
        throw SAEError.invalidArgument("\(what) needs an SAE; this is a transcoder that reads \(config.metadata.hookName) and writes \(config.outputHookName)")
    }
}
