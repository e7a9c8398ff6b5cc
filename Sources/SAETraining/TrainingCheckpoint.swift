import FeaturescopeCore
import Foundation
import TensorFormats

/// Scalar training state stored in a checkpoint's safetensors metadata (key `state`, JSON).
public struct TrainingCheckpointState: Codable, Equatable, Sendable {
    public var step: Int
    public var config: TopKTrainingConfig
    /// Training-time input scale (E‖x‖ → √d_in).
    public var inputScale: Float
    public var fireCountTokens: Int64
    /// Tokens in the activation store when training started (a resume must see the same data).
    public var sourceTokens: Int
    public var hookName: String
}

/// Atomic checkpoints: one safetensors file with parameters, Adam moments and latent
/// counters, plus the scalar state as JSON in its metadata.
public enum TrainingCheckpoint {
    public static let fileName = "checkpoint.safetensors"

    public static func save(_ trainer: TopKTrainer, state: TrainingCheckpointState, directory: String) throws {
        let d = trainer.config.dIn, n = trainer.config.dSAE
        var w = SafetensorsWriter()
        let tensors: [(String, FloatBuffer, [Int])] = [
            ("encoder", trainer.sae.encoder, [n, d]), ("encoder_bias", trainer.sae.encoderBias, [n]),
            ("decoder", trainer.sae.decoder, [n, d]), ("decoder_bias", trainer.sae.decoderBias, [d]),
            ("adam_m.encoder", trainer.mEnc, [n, d]), ("adam_v.encoder", trainer.vEnc, [n, d]),
            ("adam_m.encoder_bias", trainer.mEncBias, [n]), ("adam_v.encoder_bias", trainer.vEncBias, [n]),
            ("adam_m.decoder", trainer.mDec, [n, d]), ("adam_v.decoder", trainer.vDec, [n, d]),
            ("adam_m.decoder_bias", trainer.mDecBias, [d]), ("adam_v.decoder_bias", trainer.vDecBias, [d]),
        ]
        for (name, buf, shape) in tensors { try w.add(name, dtype: .F32, shape: shape, data: buf.data) }
        try w.add("tokens_since_fired", integers: trainer.tokensSinceFired, shape: [n], dtype: .I64)
        try w.add("fire_counts", integers: trainer.fireCounts, shape: [n], dtype: .I64)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        w.metadata["state"] = String(decoding: try enc.encode(state), as: UTF8.self)
        w.metadata["format"] = "featurescope-topk-checkpoint-1"
        try w.write(to: directory + "/" + fileName)
    }

    /// Reads a checkpoint's state without loading its tensors.
    public static func readState(directory: String) throws -> TrainingCheckpointState {
        let path = directory + "/" + fileName
        let f: SafetensorsFile
        do { f = try SafetensorsFile(path: path) } catch {
            throw TrainingError.invalidStore(path: path, reason: "cannot read checkpoint: \(error)")
        }
        return try state(of: f)
    }

    static func state(of f: SafetensorsFile) throws -> TrainingCheckpointState {
        guard f.metadata["format"] == "featurescope-topk-checkpoint-1", let s = f.metadata["state"] else {
            throw TrainingError.invalidStore(path: f.path, reason: "not a Featurescope training checkpoint")
        }
        do {
            return try JSONDecoder().decode(TrainingCheckpointState.self, from: Data(s.utf8))
        } catch {
            throw TrainingError.invalidStore(path: f.path, reason: "checkpoint state is not valid: \(error)")
        }
    }

    /// Restores a trainer (weights, moments, counters, step) from `directory`.
    public static func load(directory: String, threads: Int) throws -> (TopKTrainer, TrainingCheckpointState) {
        let path = directory + "/" + fileName
        let f: SafetensorsFile
        do { f = try SafetensorsFile(path: path) } catch {
            throw TrainingError.invalidStore(path: path, reason: "cannot read checkpoint: \(error)")
        }
        let st = try state(of: f)
        var config = st.config
        config.threads = threads
        try config.validate()
        let d = config.dIn, n = config.dSAE
        let sae = TopKSAEWeights(dIn: d, dSAE: n, k: config.k)
        let trainer = try TopKTrainer(config: config, sae: sae)
        let tensors: [(String, FloatBuffer, [Int])] = [
            ("encoder", sae.encoder, [n, d]), ("encoder_bias", sae.encoderBias, [n]),
            ("decoder", sae.decoder, [n, d]), ("decoder_bias", sae.decoderBias, [d]),
            ("adam_m.encoder", trainer.mEnc, [n, d]), ("adam_v.encoder", trainer.vEnc, [n, d]),
            ("adam_m.encoder_bias", trainer.mEncBias, [n]), ("adam_v.encoder_bias", trainer.vEncBias, [n]),
            ("adam_m.decoder", trainer.mDec, [n, d]), ("adam_v.decoder", trainer.vDec, [n, d]),
            ("adam_m.decoder_bias", trainer.mDecBias, [d]), ("adam_v.decoder_bias", trainer.vDecBias, [d]),
        ]
        for (name, buf, shape) in tensors {
            try f.expectShape(name, shape)
            let info = try f.info(name)
            guard info.dtype == .F32 else {
                throw TrainingError.invalidStore(path: path, reason: "tensor \(name) is \(info.dtype.rawValue), expected F32")
            }
            let raw = try f.rawBytes(name)
            SafetensorsFile.convert(raw, dtype: .F32, count: info.count,
                                    into: UnsafeMutableBufferPointer(start: buf.pointer, count: buf.count))
        }
        try f.expectShape("tokens_since_fired", [n])
        try f.expectShape("fire_counts", [n])
        trainer.tokensSinceFired = try f.int64s("tokens_since_fired")
        trainer.fireCounts = try f.int64s("fire_counts")
        trainer.fireCountTokens = st.fireCountTokens
        trainer.step = st.step
        guard sae.encoder.allFinite, sae.decoder.allFinite else {
            throw TrainingError.invalidStore(path: path, reason: "checkpoint holds non-finite weights")
        }
        return (trainer, st)
    }
}
