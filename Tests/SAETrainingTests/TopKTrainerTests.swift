import FeaturescopeCore
import XCTest
import TensorFormats
@testable import SAETraining

/// Synthetic data with a known dictionary: each sample is a sparse non-negative combination
/// of unit atoms, so a good TopK SAE must find the atoms.
struct SyntheticDictionary {
    let dIn: Int
    let atoms: [Float]  // [nAtoms, dIn], unit rows
    let nAtoms: Int

    init(dIn: Int, nAtoms: Int, seed: UInt64) {
        self.dIn = dIn
        self.nAtoms = nAtoms
        var rng = Xoshiro256StarStar(seed: seed)
        var a = [Float](repeating: 0, count: nAtoms * dIn)
        for i in 0 ..< nAtoms {
            var norm: Float = 0
            for j in 0 ..< dIn { let v = rng.nextGaussian(); a[i * dIn + j] = v; norm += v * v }
            for j in 0 ..< dIn { a[i * dIn + j] /= norm.squareRoot() }
        }
        atoms = a
    }

    /// `count` samples of `active` atoms each with coefficients in [1, 3), plus an offset.
    func samples(_ count: Int, active: Int, seed: UInt64) -> [Float] {
        var rng = Xoshiro256StarStar(seed: seed)
        var x = [Float](repeating: 0, count: count * dIn)
        for s in 0 ..< count {
            for _ in 0 ..< active {
                let i = Int(rng.next() % UInt64(nAtoms))
                let c = 1 + 2 * rng.nextUnitFloat()
                for j in 0 ..< dIn { x[s * dIn + j] += c * atoms[i * dIn + j] }
            }
            for j in 0 ..< dIn { x[s * dIn + j] += 0.5 }
        }
        return x
    }

    /// Mean over true atoms of the best cosine similarity with any decoder row.
    func recovery(decoder: [Float], rows: Int) -> Float {
        var total: Float = 0
        for i in 0 ..< nAtoms {
            var best: Float = -1
            for r in 0 ..< rows {
                var dot: Float = 0, norm: Float = 0
                for j in 0 ..< dIn { dot += atoms[i * dIn + j] * decoder[r * dIn + j]; norm += decoder[r * dIn + j] * decoder[r * dIn + j] }
                best = max(best, dot / max(norm.squareRoot(), 1e-12))
            }
            total += best
        }
        return total / Float(nAtoms)
    }
}

final class TopKTrainerTests: XCTestCase {
    func testTopKSelectMatchesSorting() {
        var rng = Xoshiro256StarStar(seed: 3)
        let n = 300, k = 17
        let x = (0 ..< n).map { _ in rng.nextGaussian() }
        let bias = (0 ..< n).map { _ in rng.nextGaussian() * 0.1 }
        var vals = [Float](repeating: 0, count: k), idx = [Int32](repeating: 0, count: k)
        TopKSelect.select(x, bias: bias, count: n, k: k, values: &vals, indices: &idx)
        let score: (Int) -> Float = { x[$0] + bias[$0] }
        let expected = (0 ..< n).sorted { score($0) > score($1) }.prefix(k)
        XCTAssertEqual(Set(idx.map(Int.init)), Set(expected))
        for (v, i) in zip(vals, idx) { XCTAssertEqual(v, x[Int(i)] + bias[Int(i)]) }
        // Candidate-list variant.
        let cands: [Int32] = stride(from: 0, to: n, by: 3).map { Int32($0) }
        TopKSelect.select(x, bias: bias, candidates: cands, candidateCount: cands.count, k: 5, values: &vals, indices: &idx)
        let candInts: [Int] = cands.map { Int($0) }
        let expC = candInts.sorted { score($0) > score($1) }.prefix(5)
        XCTAssertEqual(Set(idx.prefix(5).map(Int.init)), Set(expC))
    }

    func testLearningRateSchedule() {
        var c = TopKTrainingConfig(dIn: 4, dSAE: 8, k: 2, batchSize: 4, totalSteps: 110)
        c.warmupSteps = 10
        c.learningRate = 1
        XCTAssertEqual(c.learningRate(atStep: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(c.learningRate(atStep: 9), 1, accuracy: 1e-6)
        XCTAssertEqual(c.learningRate(atStep: 60), 0.5, accuracy: 1e-6)
        XCTAssertEqual(c.learningRate(atStep: 110), 0, accuracy: 1e-6)
    }

    func testGeometricMedianResistsOutliers() {
        // 9 points near (1, 1), one far outlier: the median stays near (1, 1), the mean does not.
        var x: [Float] = []
        for i in 0 ..< 9 { x += [1 + Float(i % 3) * 0.01, 1 - Float(i / 3) * 0.01] }
        x += [100, -100]
        let gm = DataStatistics.geometricMedian(x, rows: 10, dIn: 2)
        XCTAssertEqual(gm[0], 1.01, accuracy: 0.05)
        XCTAssertEqual(gm[1], 0.99, accuracy: 0.05)
        XCTAssertGreaterThan(DataStatistics.mean(x, rows: 10, dIn: 2)[0], 10)
    }

    /// The trainer recovers a known dictionary and explains most of the variance.
    func testRecoversKnownDictionary() throws {
        let dict = SyntheticDictionary(dIn: 32, nAtoms: 48, seed: 11)
        let data = dict.samples(12288, active: 3, seed: 12)
        let source = InMemoryActivations(dIn: 32, values: data)
        var config = TopKTrainingConfig(dIn: 32, dSAE: 96, k: 3, batchSize: 128, totalSteps: 900)
        config.learningRate = 4e-3
        config.warmupSteps = 20
        config.deadTokenThreshold = 5_000
        config.auxK = 16
        let dir = NSTemporaryDirectory() + "fs-train-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = TrainingRunOptions(outputDirectory: dir, provenance: TrainingProvenance(
            modelName: "synthetic", hookName: "blocks.0.attn.hook_z", contextSize: 1, datasetPath: "synthetic"))
        options.showProgress = false
        options.checkpointEvery = 0
        let summary = try TopKTrainingRun.run(source: source, config: config, options: options)
        XCTAssertTrue(summary.finished)
        XCTAssertLessThan(summary.finalFVU, 0.15, "FVU \(summary.finalFVU)")
        XCTAssertLessThanOrEqual(summary.finalL0, 3.0001)

        // Recovery measured on the exported (raw-scale) decoder.
        let weights = try SafetensorsFile(path: dir + "/sae_weights.safetensors")
        let dec = try weights.floats("W_dec")
        let rec = dict.recovery(decoder: dec, rows: 96)
        print("synthetic dictionary: FVU \(summary.finalFVU), L0 \(summary.finalL0), recovery \(rec)")
        XCTAssertGreaterThan(rec, 0.9, "mean max cosine similarity \(rec)")

        // The log has JSON lines with the promised fields.
        let log = try String(contentsOfFile: dir + "/train_log.jsonl", encoding: .utf8)
        let lines = log.split(separator: "\n")
        XCTAssertEqual(lines.count, 90)
        let last = try JSONDecoder().decode(TrainingLogLine.self, from: Data(lines[lines.count - 1].utf8))
        XCTAssertEqual(last.step, 900)
        XCTAssertTrue(last.fvu.isFinite && last.l0 > 0)
    }

    /// AuxK revives latents that would otherwise stay dead.
    func testAuxKLossIsActiveWithDeadLatents() throws {
        let dict = SyntheticDictionary(dIn: 16, nAtoms: 16, seed: 5)
        let data = dict.samples(2048, active: 2, seed: 6)
        var config = TopKTrainingConfig(dIn: 16, dSAE: 64, k: 2, batchSize: 64, totalSteps: 200)
        config.deadTokenThreshold = 64
        config.auxK = 8
        let sae = TopKSAEWeights.random(dIn: 16, dSAE: 64, k: 2, seed: 1)
        let trainer = try TopKTrainer(config: config, sae: sae)
        var sawAux = false
        try data.withUnsafeBufferPointer { b in
            for s in 0 ..< 40 {
                let st = try trainer.trainStep(b.baseAddress! + (s % 32) * 64 * 16)
                if st.deadFraction > 0 { XCTAssertGreaterThan(st.auxKLoss, 0); sawAux = true }
            }
        }
        XCTAssertTrue(sawAux, "with 64 latents, k = 2 and a 64-token threshold some latents must be dead")
        // Decoder rows stay unit-norm.
        for l in 0 ..< 64 {
            var s: Float = 0
            for j in 0 ..< 16 { s += sae.decoder.pointer[l * 16 + j] * sae.decoder.pointer[l * 16 + j] }
            XCTAssertEqual(s, 1, accuracy: 1e-4)
        }
    }
}
