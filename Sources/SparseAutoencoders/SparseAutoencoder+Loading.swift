import Foundation
import TensorFormats

/// Choices made when loading an SAE folder.
public struct SAELoadOptions: Sendable {
    /// The dataset-wide activation scale of an `expected_average_only_in` SAE (SAELens's
    /// estimated norm scaling factor); folded into the weights. Required for such SAEs.
    public var activationScale: Float?
    /// sparsify: the hookpoint, when the folder's own name is not it (e.g. a renamed copy).
    public var hookpoint: String?
    /// sparsify: the model name, which sparsify's cfg.json does not record.
    public var modelName: String?
    /// Compute the SHA-256 of the weights file (about 0.5 s per 100 MB in release builds).
    public var computeDigest: Bool

    public init(activationScale: Float? = nil, hookpoint: String? = nil, modelName: String? = nil, computeDigest: Bool = true) {
        self.activationScale = activationScale
        self.hookpoint = hookpoint
        self.modelName = modelName
        self.computeDigest = computeDigest
    }
}

extension SparseAutoencoder {
    /// SAELens weight file name.
    public static let saeLensWeightsFile = "sae_weights.safetensors"
    /// sparsify weight file name.
    public static let sparsifyWeightsFile = "sae.safetensors"

    /// Loads a SAELens or sparsify SAE folder, telling them apart by the weights file name.
    ///
    /// Also reads, by what the path holds: a Gemma Scope `params.npz` (the file or its folder), a Gemma Scope 2 folder
    /// (`params.safetensors`), a PyTorch `.pt`/`.pth`
    /// state dict, a Llama Scope folder (`hyperparams.json` + `checkpoints/final.safetensors`), and a weights file's
    /// folder when given the `.safetensors` file itself.
    public static func load(folder: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        var isDir: ObjCBool = false
        let fm = FileManager.default
        guard fm.fileExists(atPath: folder, isDirectory: &isDir) else { throw SAEError.folderNotFound(path: folder) }
        if !isDir.boolValue {
            let ext = (folder as NSString).pathExtension.lowercased()
            switch ext {
            case "npz": return try loadGemmaScope(file: folder, options: options)
            case "pt", "pth", "bin": return try loadTorch(file: folder, options: options)
            case "safetensors": return try load(folder: (folder as NSString).deletingLastPathComponent, options: options)
            default:
                throw SAEError.unrecognizedFolder(path: folder, reason: "a file of a kind Featurescope does not read as an SAE (it reads SAE folders, params.npz and .pt files)")
            }
        }
        if fm.fileExists(atPath: folder + "/" + saeLensWeightsFile) { return try loadSAELens(folder: folder, options: options) }
        if fm.fileExists(atPath: folder + "/" + sparsifyWeightsFile) { return try loadSparsify(folder: folder, options: options) }
        if fm.fileExists(atPath: folder + "/" + gemmaScopeWeightsFile) { return try loadGemmaScope(file: folder + "/" + gemmaScopeWeightsFile, options: options) }
        if fm.fileExists(atPath: folder + "/" + gemmaScope2WeightsFile) { return try loadGemmaScope2(folder: folder, options: options) }
        if fm.fileExists(atPath: folder + "/hyperparams.json"), fm.fileExists(atPath: folder + "/checkpoints/final.safetensors") {
            return try loadLlamaScope(folder: folder, options: options)
        }
        let subs = ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter {
            fm.fileExists(atPath: folder + "/" + $0 + "/" + sparsifyWeightsFile)
                || fm.fileExists(atPath: folder + "/" + $0 + "/" + saeLensWeightsFile)
        }.sorted()
        if !subs.isEmpty {
            throw SAEError.unrecognizedFolder(path: folder, reason: "it holds several SAEs; pass one of its subfolders: \(subs.prefix(12).joined(separator: ", "))")
        }
        throw SAEError.unrecognizedFolder(path: folder, reason: "no \(saeLensWeightsFile) (SAELens), \(sparsifyWeightsFile) (sparsify), \(gemmaScopeWeightsFile) (Gemma Scope), \(gemmaScope2WeightsFile) (Gemma Scope 2) or hyperparams.json + checkpoints/final.safetensors (Llama Scope)")
    }

    /// Loads a SAELens folder: `cfg.json` (v6 nested or legacy flat) + `sae_weights.safetensors`
    /// (+ optional `sparsity.safetensors`).
    public static func loadSAELens(folder: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        let cfgPath = folder + "/cfg.json"
        var config = try ConfigReader.read(SAELensConfigFile.self, path: cfgPath).resolve(path: cfgPath)
        let hasSkip = try SAELensTranscoderFields.apply(
            path: cfgPath, to: &config, applyBDecGiven: ConfigReader.read(ApplyBDecProbe.self, path: cfgPath).applyBDecToInput != nil)
        let weightsPath = folder + "/" + saeLensWeightsFile
        let file = try TensorSource(path: weightsPath)
        let dIn = config.dIn, dSAE = config.dSAE, dOut = config.dOut ?? config.dIn

        // Every shape is checked before any data is read.
        var expected: [(String, [Int])] = [("W_enc", [dIn, dSAE]), ("W_dec", [dSAE, dOut]), ("b_dec", [dOut])]
        if hasSkip { expected.append(("W_skip", [dOut, dIn])) }
        var thresholdName = "threshold"
        switch config.architecture {
        case .standard, .topk: expected.append(("b_enc", [dSAE]))
        case .jumprelu:
            expected.append(("b_enc", [dSAE]))
            if !file.has("threshold"), file.has("log_threshold") { thresholdName = "log_threshold" }
            expected.append((thresholdName, [dSAE]))
        case .gated: expected += [("b_gate", [dSAE]), ("b_mag", [dSAE]), ("r_mag", [dSAE])]
        }
        for (name, shape) in expected { try file.expect(name, shape) }

        var wEnc = try file.floats("W_enc")
        var wDec = try file.floats("W_dec")
        var bDec = try file.floats("b_dec")
        let bEnc = try file.floats(config.architecture == .gated ? "b_gate" : "b_enc")
        var threshold: [Float]?
        if config.architecture == .jumprelu {
            let t = try file.floats(thresholdName)
            threshold = thresholdName == "log_threshold" ? t.map { expf($0) } : t
        }
        var gated: GatedMagnitude?
        if config.architecture == .gated {
            gated = GatedMagnitude(bMag: try file.floats("b_mag"), rMag: try file.floats("r_mag"))
        }

        var folded: Float?
        switch config.normalizeActivations {
        case .expectedAverageOnlyIn:
            guard let s = options.activationScale else { throw SAEError.needsScalingFactor(path: cfgPath) }
            guard s.isFinite, s > 0 else {
                throw SAEError.invalidArgument("\(cfgPath): activation scale \(s) must be a positive finite number")
            }
            foldInputScale(s, wEnc: &wEnc, wDec: &wDec, bDec: &bDec)
            config.normalizeActivations = .none
            folded = s
        case .none, .constantNormRescale, .layerNorm: break
        }

        var sparsity: [Float]?
        let sparsityPath = folder + "/sparsity.safetensors"
        if FileManager.default.fileExists(atPath: sparsityPath) {
            let s = try TensorSource(path: sparsityPath)
            if s.has("sparsity") {
                try s.expect("sparsity", [dSAE])
                sparsity = try s.floats("sparsity", allowNonFinite: true)
            }
        }
        let digest = try options.computeDigest ? SAEError.wrapping { try SHA256.hexDigest(ofFileAt: weightsPath) } : nil
        return try SparseAutoencoder(
            config: config, encoderWeight: wEnc, encoderBias: bEnc, decoderWeight: wDec, decoderBias: bDec,
            threshold: threshold, gated: gated, logFeatureSparsity: sparsity, weightsDType: file.dtype("W_enc"),
            weightsPath: weightsPath, weightsSHA256: digest, foldedActivationScale: folded,
            skipWeight: hasSkip ? try file.floats("W_skip") : nil)
    }

    /// Loads a sparsify folder (one hookpoint): `cfg.json` + `sae.safetensors`. The hook name comes
    /// from the folder's name (`layers.N` → `blocks.N.hook_resid_post`) unless `options.hookpoint` says.
    public static func loadSparsify(folder: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        let cfgPath = folder + "/cfg.json"
        var trimmed = folder
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        let hookpoint = options.hookpoint ?? (trimmed as NSString).lastPathComponent
        let config = try ConfigReader.read(SparsifyConfigFile.self, path: cfgPath)
            .resolve(path: cfgPath, hookpoint: hookpoint, modelName: options.modelName)
        let weightsPath = folder + "/" + sparsifyWeightsFile
        let file = try TensorSource(path: weightsPath)
        let dIn = config.dIn, dSAE = config.dSAE
        // A transcoder trained with skip_connection saves W_skip [d_in, d_in] (out × in).
        let hasSkip = config.isTranscoder && file.has("W_skip")
        for (name, shape) in [("encoder.weight", [dSAE, dIn]), ("encoder.bias", [dSAE]), ("W_dec", [dSAE, dIn]), ("b_dec", [dIn])]
            + (hasSkip ? [("W_skip", [dIn, dIn])] : []) {
            try file.expect(name, shape)
        }
        let encoderRows = try file.floats("encoder.weight")
        // encoder.weight is [d_sae, d_in]: transpose into W_enc [d_in, d_sae].
        var wEnc = [Float](repeating: 0, count: dIn * dSAE)
        for f in 0 ..< dSAE {
            for i in 0 ..< dIn { wEnc[i * dSAE + f] = encoderRows[f * dIn + i] }
        }
        let digest = try options.computeDigest ? SAEError.wrapping { try SHA256.hexDigest(ofFileAt: weightsPath) } : nil
        return try SparseAutoencoder(
            config: config, encoderWeight: wEnc, encoderBias: try file.floats("encoder.bias"),
            decoderWeight: try file.floats("W_dec"), decoderBias: try file.floats("b_dec"),
            weightsDType: file.dtype("encoder.weight"), weightsPath: weightsPath, weightsSHA256: digest,
            skipWeight: hasSkip ? try file.floats("W_skip") : nil)
    }
}

/// A safetensors file with SAE-flavoured errors.
struct TensorSource {
    let file: SafetensorsFile
    let path: String

    init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SAEError.unrecognizedFolder(path: (path as NSString).deletingLastPathComponent,
                                              reason: "\((path as NSString).lastPathComponent) is missing")
        }
        do { file = try SafetensorsFile(path: path) } catch let e as FormatError { throw SAEError.format(e) }
    }

    func has(_ name: String) -> Bool { file.tensors[name] != nil }

    func dtype(_ name: String) -> String { file.tensors[name]?.dtype.rawValue ?? "?" }

    /// Throws unless `name` exists with `shape` and a float dtype.
    func expect(_ name: String, _ shape: [Int]) throws {
        guard let t = file.tensors[name] else { throw SAEError.missingTensor(path: path, tensor: name) }
        guard t.shape == shape else { throw SAEError.tensorShape(path: path, tensor: name, found: t.shape, expected: shape) }
        switch t.dtype {
        case .F32, .F16, .BF16, .F64: break
        default: throw SAEError.tensorDType(path: path, tensor: name, found: t.dtype.rawValue)
        }
    }

    /// The tensor as Float; weights (the default) must all be finite, checked once here at load.
    func floats(_ name: String, allowNonFinite: Bool = false) throws -> [Float] {
        let values: [Float]
        do { values = try file.floats(name) } catch let e as FormatError { throw SAEError.format(e) }
        if !allowNonFinite, let bad = Self.firstNonFinite(values) {
            throw SAEError.nonFiniteWeight(path: path, tensor: name, index: bad, value: values[bad])
        }
        return values
    }

    /// Index of the first NaN or ±Inf (exponent bits all set), or nil.
    static func firstNonFinite(_ values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { b -> Int? in
            var i = 0
            while i < b.count {
                // Scan 64 values per branch; only look closer when the block holds a bad one.
                let end = min(b.count, i + 64)
                var any = false
                for j in i ..< end { any = any || (b[j].bitPattern & 0x7F80_0000 == 0x7F80_0000) }
                if any { return (i ..< end).first { !b[$0].isFinite } }
                i = end
            }
            return nil
        }
    }
}
