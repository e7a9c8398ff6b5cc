import FeaturescopeCore
import XCTest
@testable import SAETraining

/// Checks the sparse analytic gradients against central finite differences of a plain
/// double-precision reference loss (FVU + coefficient × scaled AuxK).
final class GradientCheckTests: XCTestCase {
    struct Params {
        var enc: [Double], encBias: [Double], dec: [Double], decBias: [Double]
    }

    /// The reference loss with the latent selections frozen to `top`/`aux` (TopK is piecewise
    /// constant, so small perturbations keep the same selections).
    func referenceLoss(_ p: Params, x: [Double], B: Int, d: Int, n: Int, top: [[Int]], aux: [[Int]],
                       auxCoef: Double, auxScale: Double) -> Double {
        var mean = [Double](repeating: 0, count: d)
        for b in 0 ..< B { for j in 0 ..< d { mean[j] += x[b * d + j] / Double(B) } }
        var tv = 0.0
        for b in 0 ..< B { for j in 0 ..< d { tv += (x[b * d + j] - mean[j]) * (x[b * d + j] - mean[j]) } }
        func pre(_ b: Int, _ l: Int) -> Double {
            var s = p.encBias[l]
            for j in 0 ..< d { s += (x[b * d + j] - p.decBias[j]) * p.enc[l * d + j] }
            return s
        }
        var sq = 0.0, auxSq = 0.0
        for b in 0 ..< B {
            var recon = p.decBias
            for l in top[b] { let a = max(0, pre(b, l)); for j in 0 ..< d { recon[j] += a * p.dec[l * d + j] } }
            var eHat = [Double](repeating: 0, count: d)
            for l in aux[b] { let a = max(0, pre(b, l)); for j in 0 ..< d { eHat[j] += a * p.dec[l * d + j] } }
            for j in 0 ..< d { let r = recon[j] - x[b * d + j]; sq += r * r }
            // The AuxK target (the residual x − x̂) is detached: it stays at its unperturbed value.
            for j in 0 ..< d { let t = eHat[j] - frozenResidual[b * d + j]; auxSq += t * t }
        }
        return sq / tv + auxCoef * auxScale * auxSq / tv
    }

    var frozenResidual: [Double] = []

    func testSparseGradientsMatchFiniteDifferences() throws {
        let d = 6, n = 12, k = 3, B = 8
        var config = TopKTrainingConfig(dIn: d, dSAE: n, k: k, batchSize: B, totalSteps: 10)
        config.auxK = 3
        config.deadTokenThreshold = 1
        config.auxKCoefficient = 0.5
        config.threads = 2
        let sae = TopKSAEWeights.random(dIn: d, dSAE: n, k: k, seed: 4)
        var rng = Xoshiro256StarStar(seed: 9)
        for j in 0 ..< d { sae.decoderBias.pointer[j] = rng.nextGaussian() * 0.3 }
        for l in 0 ..< n { sae.encoderBias.pointer[l] = rng.nextGaussian() * 0.3 }
        for i in 0 ..< n * d { sae.encoder.pointer[i] = rng.nextGaussian() }
        let trainer = try TopKTrainer(config: config, sae: sae)
        // Latents 8 ..< 12 are dead (4 dead ≥ auxK 3, so the AuxK scale is 1).
        for l in 0 ..< n { trainer.tokensSinceFired[l] = l >= 8 ? 10 : 0 }
        let x = (0 ..< B * d).map { _ in rng.nextGaussian() + 0.5 }
        let stats = try x.withUnsafeBufferPointer { try trainer.computeGradients($0.baseAddress!) }
        XCTAssertGreaterThan(stats.auxKLoss, 0)

        var top: [[Int]] = [], aux: [[Int]] = []
        for b in 0 ..< B {
            top.append((0 ..< k).map { Int(trainer.topIndices[b * k + $0]) })
            aux.append((0 ..< 3).map { Int(trainer.auxIndices[b * 3 + $0]) })
        }
        let p0 = Params(enc: sae.encoder.array.map(Double.init), encBias: sae.encoderBias.array.map(Double.init),
                        dec: sae.decoder.array.map(Double.init), decBias: sae.decoderBias.array.map(Double.init))
        let xd = x.map(Double.init)
        // Frozen residual e = x − x̂ at p0.
        frozenResidual = [Double](repeating: 0, count: B * d)
        for b in 0 ..< B {
            var recon = p0.decBias
            for l in top[b] {
                var s = p0.encBias[l]
                for j in 0 ..< d { s += (xd[b * d + j] - p0.decBias[j]) * p0.enc[l * d + j] }
                for j in 0 ..< d { recon[j] += max(0, s) * p0.dec[l * d + j] }
            }
            for j in 0 ..< d { frozenResidual[b * d + j] = xd[b * d + j] - recon[j] }
        }
        let base = referenceLoss(p0, x: xd, B: B, d: d, n: n, top: top, aux: aux, auxCoef: 0.5, auxScale: 1)
        XCTAssertEqual(base, Double(stats.fvu + 0.5 * stats.auxKLoss), accuracy: 1e-4 * max(1, base))

        let h = 1e-5
        var worst = 0.0
        func check(_ name: String, _ count: Int, _ analytic: (Int) -> Float, _ perturb: (inout Params, Int, Double) -> Void) {
            for i in 0 ..< count {
                var plus = p0, minus = p0
                perturb(&plus, i, h); perturb(&minus, i, -h)
                let num = (referenceLoss(plus, x: xd, B: B, d: d, n: n, top: top, aux: aux, auxCoef: 0.5, auxScale: 1)
                    - referenceLoss(minus, x: xd, B: B, d: d, n: n, top: top, aux: aux, auxCoef: 0.5, auxScale: 1)) / (2 * h)
                let a = Double(analytic(i))
                let err = abs(a - num) / max(1e-3, abs(num))
                worst = max(worst, err)
                XCTAssertLessThan(err, 2e-3, "\(name)[\(i)]: analytic \(a), numeric \(num)")
            }
        }
        check("W_enc", n * d, { trainer.gEnc.pointer[$0] }) { p, i, e in p.enc[i] += e }
        check("b_enc", n, { trainer.gEncBias.pointer[$0] }) { p, i, e in p.encBias[i] += e }
        check("W_dec", n * d, { trainer.gDec.pointer[$0] }) { p, i, e in p.dec[i] += e }
        check("b_dec", d, { trainer.gDecBias.pointer[$0] }) { p, i, e in p.decBias[i] += e }
        print("gradient check: worst relative error \(worst)")
    }
}
