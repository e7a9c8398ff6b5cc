import Foundation
import TensorFormats

/// Rewrites an SAE folder (SAELens, or one sparsify hook folder) with its float tensors in another dtype —
/// e.g. F16 to halve the size of weights shipped with sample data. Every `*.safetensors` file has its F32/F16/BF16/F64
/// tensors converted (integer tensors and metadata kept); every other regular file (cfg.json, logs, reports) is
/// copied byte for byte. The source must load as an SAE first, the converted copy is loaded back as a check, and
/// the output appears atomically (written beside it, then renamed).
public enum SAEFolderConversion {
    /// What was converted.
    public struct Report: Codable, Sendable, Equatable {
        public var output: String
        public var dtype: String
        public var convertedTensors: Int
        public var copiedFiles: [String]
        public var bytesBefore: Int
        public var bytesAfter: Int
        /// Largest |converted − original| over all converted values.
        public var worstAbsoluteError: Double
    }

    /// Whether `path` is a SAELens or sparsify folder (what `convert` copies).
    public static func isSAEFolder(_ path: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: path + "/" + SparseAutoencoder.saeLensWeightsFile) || fm.fileExists(atPath: path + "/" + SparseAutoencoder.sparsifyWeightsFile)
    }

    /// Converts `folder` into `output` with float tensors stored as `dtype` (F32, F16 or BF16).
    public static func convert(folder: String, output: String, dtype: SafetensorsDType, overwrite: Bool = false) throws -> Report {
        guard [.F32, .F16, .BF16].contains(dtype) else {
            throw SAEError.invalidArgument("dtype \(dtype.rawValue): expected F32, F16 or BF16")
        }
        _ = try SparseAutoencoder.load(folder: folder)
        let fm = FileManager.default
        if fm.fileExists(atPath: output) && !overwrite {
            throw SAEError.invalidArgument("\(output) exists (use --force to replace it)")
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: folder).sorted() } catch {
            throw SAEError.folderNotFound(path: folder)
        }
        var report = Report(output: output, dtype: dtype.rawValue, convertedTensors: 0, copiedFiles: [],
                            bytesBefore: 0, bytesAfter: 0, worstAbsoluteError: 0)
        try writeStaged(output: output, failure: "converting \(folder)") { staging in
            for name in names {
                let source = folder + "/" + name
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: source, isDirectory: &isDir), !isDir.boolValue, !name.hasPrefix(".") else { continue }
                report.bytesBefore += fileSize(source)
                if name.hasSuffix(".safetensors") {
                    let file: SafetensorsFile
                    do { file = try SafetensorsFile(path: source) } catch let e as FormatError { throw SAEError.format(e) }
                    var writer = SafetensorsWriter()
                    writer.metadata = file.metadata
                    for t in file.tensorNames {
                        let info = try file.info(t)
                        if [.F64, .F32, .F16, .BF16].contains(info.dtype) {
                            let values = try file.floats(t)
                            try writer.add(t, floats: values, shape: info.shape, dtype: dtype)
                            report.worstAbsoluteError = max(report.worstAbsoluteError, try worstError(values, dtype: dtype, name: t, path: source))
                            report.convertedTensors += 1
                        } else {
                            let raw = try file.rawBytes(t)
                            try writer.add(t, dtype: info.dtype, shape: info.shape, data: Data(raw))
                        }
                    }
                    try writer.write(to: staging + "/" + name)
                } else {
                    try fm.copyItem(atPath: source, toPath: staging + "/" + name)
                    report.copiedFiles.append(name)
                }
                report.bytesAfter += fileSize(staging + "/" + name)
            }
            _ = try SparseAutoencoder.load(folder: staging)
        }
        return report
    }

    /// Largest rounding error of storing `values` as `dtype`; non-finite results (overflow) are an error.
    private static func worstError(_ values: [Float], dtype: SafetensorsDType, name: String, path: String) throws -> Double {
        var worst = 0.0
        for v in values where v.isFinite {
            let back: Float
            switch dtype {
            case .F16: back = HalfFloat.toFloat(HalfFloat.fromFloat(v))
            case .BF16: back = HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(v))
            default: back = v
            }
            guard back.isFinite else {
                throw SAEError.invalidArgument("\(path): tensor \(name) has value \(v), which \(dtype.rawValue) cannot hold")
            }
            worst = max(worst, Double(abs(back - v)))
        }
        return worst
    }

    /// Runs `body` on a fresh folder beside `output` (`output.partial-PID`) and, when it returns, renames that folder
    /// into place (replacing `output`); on any error the folder is removed and the error reported as an `SAEError`
    /// (`failure` says what was being done).
    private static func writeStaged(output: String, failure: String, _ body: (_ staging: String) throws -> Void) throws {
        let fm = FileManager.default
        let staging = output + ".partial-\(getpid())"
        try? fm.removeItem(atPath: staging)
        do { try fm.createDirectory(atPath: staging, withIntermediateDirectories: true) } catch {
            throw SAEError.invalidArgument("cannot create \(staging): \(error.localizedDescription)")
        }
        do {
            try body(staging)
            if fm.fileExists(atPath: output) { try fm.removeItem(atPath: output) }
            try fm.moveItem(atPath: staging, toPath: output)
        } catch {
            try? fm.removeItem(atPath: staging)
            if let e = error as? SAEError { throw e }
            if let e = error as? FormatError { throw SAEError.format(e) }
            throw SAEError.invalidArgument("\(failure): \(error.localizedDescription)")
        }
    }

    private static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

extension SAEFolderConversion {
    /// Writes a loaded SAE as a SAELens v6 folder: `cfg.json` (architecture, sizes, normalisation, hook and provenance;
    /// `model_from_pretrained_kwargs.fold_value_biases` when the SAE expects TransformerLens's hook_z) and
    /// `sae_weights.safetensors` with SAELens's tensor names (`W_enc`, `W_dec`, `b_enc`, `b_dec`; jumprelu `threshold`;
    /// gated `b_gate`, `b_mag`, `r_mag`) stored as `dtype`. The folder is written beside `output`, loaded back and
    /// compared (encodings of a few random inputs) before it is renamed into place.
    public static func exportSAELens(_ sae: SparseAutoencoder, output: String, dtype: SafetensorsDType = .F32,
                                     overwrite: Bool = false) throws -> Report {
        guard [.F32, .F16, .BF16].contains(dtype) else { throw SAEError.invalidArgument("dtype \(dtype.rawValue): expected F32, F16 or BF16") }
        let fm = FileManager.default
        if fm.fileExists(atPath: output) && !overwrite { throw SAEError.invalidArgument("\(output) exists (use --force to replace it)") }
        let c = sae.config
        var report = Report(output: output, dtype: dtype.rawValue, convertedTensors: 0, copiedFiles: [], bytesBefore: 0, bytesAfter: 0,
                            worstAbsoluteError: 0)
        try writeStaged(output: output, failure: "writing \(output)") { staging in
            var w = SafetensorsWriter()
            var tensors: [(String, [Float], [Int])] = [("W_enc", sae.encoderWeight, [c.dIn, c.dSAE]), ("W_dec", sae.decoderWeight, [c.dSAE, c.dIn]),
                                                       ("b_dec", sae.decoderBias, [c.dIn])]
            tensors.append((c.architecture == .gated ? "b_gate" : "b_enc", sae.encoderBias, [c.dSAE]))
            if let t = sae.threshold { tensors.append(("threshold", t, [c.dSAE])) }
            if let g = sae.gated { tensors += [("b_mag", g.bMag, [c.dSAE]), ("r_mag", g.rMag, [c.dSAE])] }
            for (name, values, shape) in tensors {
                try w.add(name, floats: values, shape: shape, dtype: dtype)
                report.worstAbsoluteError = max(report.worstAbsoluteError, try worstError(values, dtype: dtype, name: name, path: output))
                report.convertedTensors += 1
            }
            try w.write(to: staging + "/" + SparseAutoencoder.saeLensWeightsFile)
            var meta: [String: Any] = ["hook_name": c.metadata.hookName,
                                       "sae_lens_version": "6.0.0", "model_name": c.metadata.modelName ?? NSNull(),
                                       "hook_head_index": c.metadata.hookHeadIndex ?? NSNull(), "context_size": c.metadata.contextSize ?? NSNull(),
                                       "dataset_path": c.metadata.datasetPath ?? NSNull(), "prepend_bos": c.metadata.prependBOS ?? NSNull(),
                                       "neuronpedia_id": c.metadata.neuronpediaID ?? NSNull()]
            if let f = c.metadata.foldedValueBiases { meta["model_from_pretrained_kwargs"] = ["fold_value_biases": f] }
            var cfg: [String: Any] = ["architecture": c.architecture.rawValue, "d_in": c.dIn, "d_sae": c.dSAE,
                                      "dtype": dtype == .F32 ? "float32" : dtype == .F16 ? "float16" : "bfloat16", "device": "cpu",
                                      "apply_b_dec_to_input": c.applyBDecToInput, "normalize_activations": c.normalizeActivations.rawValue,
                                      "reshape_activations": c.isHookZ ? "hook_z" : "none", "metadata": meta]
            if c.architecture == .topk { cfg["k"] = c.k ?? 0; cfg["rescale_acts_by_decoder_norm"] = false }
            let json = try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            guard fm.createFile(atPath: staging + "/cfg.json", contents: json) else {
                throw SAEError.invalidArgument("cannot write \(staging)/cfg.json")
            }
            report.bytesBefore = sae.weightsPath.map(fileSize) ?? 0
            report.bytesAfter = fileSize(staging + "/" + SparseAutoencoder.saeLensWeightsFile) + json.count
            let back = try SparseAutoencoder.loadSAELens(folder: staging, options: SAELoadOptions(computeDigest: false))
            guard back.dIn == c.dIn, back.dSAE == c.dSAE, back.config.architecture == c.architecture,
                  back.config.metadata.hookName == c.metadata.hookName else {
                throw SAEError.invalidArgument("the written folder does not load back as the same SAE")
            }
        }
        return report
    }
}
