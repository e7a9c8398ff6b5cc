import FeaturescopeCore
import XCTest
import TensorFormats
import SparseAutoencoders
@testable import SAETraining

final class ExportAndCheckpointTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "fs-export-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The SAELens files read back with the right shapes, and the folded weights encode raw
    /// activations exactly as the training-scale weights encode scaled ones.
    func testSAELensRoundTripAndScaleFolding() throws {
        let d = 8, n = 20, k = 3
        let sae = TopKSAEWeights.random(dIn: d, dSAE: n, k: k, seed: 9)
        var rng = Xoshiro256StarStar(seed: 4)
        for j in 0 ..< d { sae.decoderBias.pointer[j] = rng.nextGaussian() }
        for l in 0 ..< n { sae.encoderBias.pointer[l] = rng.nextGaussian() * 0.1 }
        let scale: Float = 2.5
        let fractions = (0 ..< n).map { Float($0) / Float(n) / 2 }
        let prov = TrainingProvenance(modelName: "SmolLM2-135M-Instruct", hookName: "blocks.3.attn.hook_z",
                                 contextSize: 128, datasetPath: "work-data/corpus/train.tokens")
        try SAELensExport.write(sae, inputScale: scale, provenance: prov, firingFraction: fractions, to: dir)

        let f = try SafetensorsFile(path: dir + "/sae_weights.safetensors")
        try f.expectShape("W_enc", [d, n])
        try f.expectShape("b_enc", [n])
        try f.expectShape("W_dec", [n, d])
        try f.expectShape("b_dec", [d])
        let wEnc = try f.floats("W_enc"), bEnc = try f.floats("b_enc")
        let wDec = try f.floats("W_dec"), bDec = try f.floats("b_dec")
        XCTAssertEqual(wEnc[2 * n + 5], sae.encoder.pointer[5 * d + 2], "W_enc is the transpose of the latent-major encoder")
        XCTAssertEqual(wDec, sae.decoder.array)

        let sp = try SafetensorsFile(path: dir + "/sparsity.safetensors")
        let logs = try sp.floats("sparsity")
        XCTAssertEqual(logs.count, n)
        XCTAssertEqual(logs[0], -10, accuracy: 1e-4)
        XCTAssertEqual(logs[10], Float(log10(0.25 + 1e-10)), accuracy: 1e-5)

        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cfg.json"))) as? [String: Any]
        XCTAssertEqual(cfg?["architecture"] as? String, "topk")
        XCTAssertEqual(cfg?["k"] as? Int, k)
        XCTAssertEqual(cfg?["d_in"] as? Int, d)
        XCTAssertEqual(cfg?["d_sae"] as? Int, n)
        XCTAssertEqual(cfg?["reshape_activations"] as? String, "hook_z")
        XCTAssertEqual(cfg?["normalize_activations"] as? String, "none")
        let meta = cfg?["metadata"] as? [String: Any]
        XCTAssertEqual(meta?["hook_name"] as? String, "blocks.3.attn.hook_z")
        XCTAssertEqual(meta?["model_name"] as? String, "SmolLM2-135M-Instruct")
        XCTAssertEqual(meta?["context_size"] as? Int, 128)
        XCTAssertEqual(meta?["dataset_path"] as? String, "work-data/corpus/train.tokens")

        // Encode a raw vector with the SAELens recipe on the saved weights…
        let raw = (0 ..< d).map { _ in rng.nextGaussian() * 3 }
        var preRaw = [Float](repeating: 0, count: n)
        for l in 0 ..< n {
            var s = bEnc[l]
            for j in 0 ..< d { s += (raw[j] - bDec[j]) * wEnc[j * n + l] }
            preRaw[l] = s
        }
        let topRaw = (0 ..< n).sorted { preRaw[$0] > preRaw[$1] }.prefix(k)
        var reconRaw = bDec
        for l in topRaw where preRaw[l] > 0 { for j in 0 ..< d { reconRaw[j] += preRaw[l] * wDec[l * d + j] } }
        // …and the scaled vector with the training weights.
        let scaled = raw.map { $0 * scale }
        var centered = [Float](repeating: 0, count: d), pre = [Float](repeating: 0, count: n)
        var idx = [Int32](repeating: 0, count: k), vals = [Float](repeating: 0, count: k)
        var recon = [Float](repeating: 0, count: d)
        sae.encode(scaled, rows: 1, centered: &centered, pre: &pre, indices: &idx, values: &vals)
        sae.decode(indices: idx, values: vals, rows: 1, into: &recon)
        XCTAssertEqual(Set(idx.map(Int.init)), Set(topRaw))
        for j in 0 ..< d { XCTAssertEqual(recon[j] / scale, reconRaw[j], accuracy: 1e-4) }
    }

    /// The project's own SAELens loader reads the exported folder and reconstructs like the trainer.
    func testExportLoadsWithSparseAutoencodersLoader() throws {
        let d = 12, n = 40, k = 4
        let sae = TopKSAEWeights.random(dIn: d, dSAE: n, k: k, seed: 21)
        var rng = Xoshiro256StarStar(seed: 8)
        for j in 0 ..< d { sae.decoderBias.pointer[j] = rng.nextGaussian() }
        let scale: Float = 0.7
        try SAELensExport.write(sae, inputScale: scale, provenance: TrainingProvenance(
            modelName: "SmolLM2-135M-Instruct", hookName: "blocks.12.attn.hook_z", contextSize: 256, datasetPath: "t"),
            firingFraction: [Float](repeating: 0.01, count: n), to: dir)
        let loaded = try SparseAutoencoder.load(folder: dir)
        XCTAssertEqual(loaded.config.architecture, .topk)
        XCTAssertEqual(loaded.config.k, k)
        XCTAssertEqual(loaded.config.metadata.hookName, "blocks.12.attn.hook_z")
        XCTAssertEqual(loaded.config.metadata.contextSize, 256)
        let rows = 5
        let raw = (0 ..< rows * d).map { _ in rng.nextGaussian() * 2 }
        let recon = try loaded.decode(try loaded.encode(raw, count: rows))
        let scaled = raw.map { $0 * scale }
        var centered = [Float](repeating: 0, count: rows * d), pre = [Float](repeating: 0, count: rows * n)
        var idx = [Int32](repeating: 0, count: rows * k), vals = [Float](repeating: 0, count: rows * k)
        var mine = [Float](repeating: 0, count: rows * d)
        sae.encode(scaled, rows: rows, centered: &centered, pre: &pre, indices: &idx, values: &vals)
        sae.decode(indices: idx, values: vals, rows: rows, into: &mine)
        for i in 0 ..< rows * d { XCTAssertEqual(recon[i], mine[i] / scale, accuracy: 1e-4) }
    }

    /// Stopping and resuming from a checkpoint gives the same weights as an uninterrupted run.
    func testResumeMatchesUninterruptedRun() throws {
        let dict = SyntheticDictionary(dIn: 16, nAtoms: 24, seed: 2)
        let source = InMemoryActivations(dIn: 16, values: dict.samples(2048, active: 2, seed: 3))
        var config = TopKTrainingConfig(dIn: 16, dSAE: 48, k: 2, batchSize: 64, totalSteps: 60)
        config.deadTokenThreshold = 500
        config.auxK = 8
        let prov = TrainingProvenance(modelName: "synthetic", hookName: "blocks.1.attn.hook_z", contextSize: 1, datasetPath: "s")

        var a = TrainingRunOptions(outputDirectory: dir + "/a", provenance: prov)
        a.showProgress = false
        a.checkpointEvery = 0
        let full = try TopKTrainingRun.run(source: source, config: config, options: a)
        XCTAssertTrue(full.finished)

        var b = TrainingRunOptions(outputDirectory: dir + "/b", provenance: prov)
        b.showProgress = false
        b.checkpointEvery = 10
        b.stopAfterSteps = 25
        let part = try TopKTrainingRun.run(source: source, config: config, options: b)
        XCTAssertFalse(part.finished)
        XCTAssertEqual(part.stepsDone, 25)
        XCTAssertEqual(try TrainingCheckpoint.readState(directory: dir + "/b").step, 25)
        // Without --resume the existing checkpoint is protected.
        b.stopAfterSteps = nil
        XCTAssertThrowsError(try TopKTrainingRun.run(source: source, config: config, options: b))
        b.resume = true
        let rest = try TopKTrainingRun.run(source: source, config: config, options: b)
        XCTAssertTrue(rest.finished)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b/" + TrainingCheckpoint.fileName))

        let wa = try SafetensorsFile(path: dir + "/a/sae_weights.safetensors")
        let wb = try SafetensorsFile(path: dir + "/b/sae_weights.safetensors")
        for name in ["W_enc", "b_enc", "W_dec", "b_dec"] {
            let x = try wa.floats(name), y = try wb.floats(name)
            let maxDiff = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(maxDiff, 1e-5, "\(name) differs by \(maxDiff) after resume")
        }
        let logLines = try String(contentsOfFile: dir + "/b/train_log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(logLines.count, 7, "log lines after the checkpoint are replaced, not duplicated")

        // A resume with different settings is refused.
        var other = config
        other.learningRate = 1e-2
        var c = TrainingRunOptions(outputDirectory: dir + "/c", provenance: prov)
        c.showProgress = false
        c.checkpointEvery = 10
        c.stopAfterSteps = 10
        _ = try TopKTrainingRun.run(source: source, config: config, options: c)
        c.resume = true
        XCTAssertThrowsError(try TopKTrainingRun.run(source: source, config: other, options: c)) { e in
            guard case TrainingError.resumeMismatch = e else { return XCTFail("wrong error \(e)") }
        }
    }
}
