import Foundation
import FeaturescopeCore
import ModelEngine

/// An SAE to evaluate: its hook and an encode-then-decode function on raw activations.
public struct SAEUnderTest {
    /// Label in reports (usually the folder).
    public var name: String
    public var hook: HookPoint
    public var dIn: Int
    public var dSAE: Int
    /// Encodes `rows` vectors (`[rows, dIn]`) and returns the reconstruction (`[rows, dIn]`)
    /// and, flattened over rows, the indices of latents with a non-zero activation.
    public var reconstruct: ([Float], Int) throws -> (reconstruction: [Float], active: [Int32])

    public init(name: String, hook: HookPoint, dIn: Int, dSAE: Int,
                reconstruct: @escaping ([Float], Int) throws -> (reconstruction: [Float], active: [Int32])) {
        self.name = name
        self.hook = hook
        self.dIn = dIn
        self.dSAE = dSAE
        self.reconstruct = reconstruct
    }
}

/// Options of `featurescope eval-sae`.
public struct SAEEvalOptions: Sendable {
    /// Reconstruction statistics (FVU, L0, dead, dense) on at most this many tokens (whole rows).
    public var maxTokens: Int?
    /// Cross-entropy (clean / spliced / zero-ablated) on the first this many of them (whole rows):
    /// those rows need full forward passes with logits, the others stop after the hook's block.
    public var ceTokens: Int?
    /// Rows per forward pass for the statistics-only rows.
    public var rowsPerForward: Int = 4
    /// Bootstrap resamples (over rows) for the intervals.
    public var bootstrapSamples: Int = 1000
    public var seed: UInt64 = 0
    /// A latent is dense when it fires on more than this fraction of tokens.
    public var denseThreshold: Double = 0.1
    public var showProgress: Bool = true
    public init() {}
}

/// A 95% bootstrap percentile interval.
public struct Interval: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double
}

/// Held-out metrics of one SAE.
public struct SAEEvalResult: Codable, Equatable, Sendable {
    public var sae: String
    public var hook: String
    public var tokens: Int
    public var rows: Int
    /// Tokens and rows of the cross-entropy part.
    public var ceTokens: Int
    public var ceRows: Int
    /// Fraction of variance unexplained: Σ‖x − x̂‖² / Σ‖x − mean(x)‖².
    public var fvu: Double
    public var meanL0: Double
    public var dSAE: Int
    /// Latents that never fired on the evaluated tokens.
    public var deadLatents: Int
    public var deadFraction: Double
    /// Latents firing on more than the dense threshold of tokens.
    public var denseLatents: Int
    public var denseFraction: Double
    public var denseThreshold: Double
    /// Mean next-token cross-entropy (nats) of the clean model, with the SAE reconstruction
    /// spliced in at the hook, and with the hook zero-ablated.
    public var ceClean: Double
    public var ceSpliced: Double
    public var ceZeroAblated: Double
    /// ceSpliced − ceClean.
    public var deltaCE: Double
    public var deltaCEInterval: Interval
    /// (ceZeroAblated − ceSpliced) / (ceZeroAblated − ceClean).
    public var lossRecovered: Double
    public var lossRecoveredInterval: Interval
}

/// The whole evaluation: one result per SAE, plus timing.
public struct SAEEvalReport: Codable, Equatable, Sendable {
    public var tokensFile: String
    public var results: [SAEEvalResult]
    public var seconds: Double
    /// Evaluated tokens per second (all forward passes included).
    public var tokensPerSecond: Double
}

/// Evaluates SAEs on held-out tokens: reconstruction statistics on the clean activations and
/// the model's next-token loss with each SAE spliced in, against clean and zero-ablated runs.
public enum SAEEvaluator {
    public static func evaluate(model: TransformerModel, tokens: TokenRowSource, tokensFile: String,
                                saes: [SAEUnderTest], options: SAEEvalOptions) throws -> SAEEvalReport {
        guard !saes.isEmpty else { throw TrainingError.invalidConfig("no SAE to evaluate") }
        let ctx = tokens.contextLength
        guard ctx >= 2, tokens.rowCount > 0 else { throw TrainingError.invalidConfig("the token file has no usable rows") }
        let rows = min(tokens.rowCount, options.maxTokens.map { max(1, $0 / ctx) } ?? tokens.rowCount)
        let ceRows = min(rows, options.ceTokens.map { max(1, $0 / ctx) } ?? rows)
        let hooks = Array(Set(saes.map(\.hook))).sorted()
        var stats = saes.map { ReconstructionStats(dIn: $0.dIn, dSAE: $0.dSAE) }
        var cleanRows: [Double] = [], zeroRows: [HookPoint: [Double]] = [:]
        var splicedRows = [[Double]](repeating: [], count: saes.count)
        let bar = ProgressBar(total: rows * ctx, label: "eval-sae", unit: "tok", enabled: options.showProgress)
        let started = Date()
        func readRow(_ r: Int) throws -> [Int32] {
            let ids = try tokens.tokens(ofRow: r)
            guard ids.count == ctx else { throw TrainingError.invalidConfig("token row \(r) has \(ids.count) ids, expected \(ctx)") }
            return ids
        }
        func reconstruct(_ s: Int, _ result: ForwardResult) throws -> [Float] {
            let sae = saes[s]
            guard let act = result.activation(sae.hook), act.data.count == ctx * sae.dIn else {
                throw TrainingError.invalidConfig("the engine returned no [\(ctx), \(sae.dIn)] activation for \(sae.hook)")
            }
            let (recon, active) = try sae.reconstruct(act.data, ctx)
            guard recon.count == act.data.count else {
                throw TrainingError.invalidConfig("SAE \(sae.name) returned \(recon.count) values for \(act.data.count)")
            }
            stats[s].add(x: act.data, recon: recon, rows: ctx, active: active)
            return recon
        }
        // Evaluated rows are evenly spaced over the file (packed files keep sources in order);
        // the loss rows are evenly spaced among them.
        let chosen = (0 ..< rows).map { Int(Int64($0) * Int64(tokens.rowCount) / Int64(rows)) }
        let ceIndex = Set((0 ..< ceRows).map { Int(Int64($0) * Int64(rows) / Int64(ceRows)) })
        let ceList = chosen.enumerated().filter { ceIndex.contains($0.offset) }.map(\.element)
        let statsList = chosen.enumerated().filter { !ceIndex.contains($0.offset) }.map(\.element)
        // Rows with the loss: clean (logits for every position), zero-ablated per hook, spliced per SAE.
        for (done, r) in ceList.enumerated() {
            let ids = try readRow(r)
            let clean = try model.forward(tokens: ids, captures: Set(hooks), logits: .all)
            cleanRows.append(mean(Logits.crossEntropy(logits: clean.logits, vocab: clean.vocabSize, targets: Array(ids.dropFirst()))))
            for h in hooks {
                let zero: HookIntervention = { t in
                    for i in t.data.indices { t.data[i] = 0 }
                }
                zeroRows[h, default: []].append(mean(try model.nextTokenCrossEntropy(tokens: ids, interventions: [h: zero])))
            }
            for s in saes.indices {
                let recon = try reconstruct(s, clean)
                let splice: HookIntervention = { t in t.data = recon }
                splicedRows[s].append(mean(try model.nextTokenCrossEntropy(tokens: ids, interventions: [saes[s].hook: splice])))
            }
            bar.update((done + 1) * ctx)
        }
        // Statistics-only rows: batched captures, no logits (the pass stops after the last hook's block).
        var next = 0
        while next < statsList.count {
            let n = min(max(1, options.rowsPerForward), statsList.count - next)
            let batch = try statsList[next ..< next + n].map(readRow)
            let results = try model.forward(batch: batch, captures: Set(hooks), logits: .none)
            for result in results { for s in saes.indices { _ = try reconstruct(s, result) } }
            next += n
            bar.update((ceList.count + next) * ctx)
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(started)
        var results: [SAEEvalResult] = []
        for (s, sae) in saes.enumerated() {
            let st = stats[s]
            let zero = zeroRows[sae.hook] ?? []
            let boot = bootstrap(clean: cleanRows, spliced: splicedRows[s], zero: zero,
                                 samples: options.bootstrapSamples, seed: options.seed)
            let c = mean(cleanRows), sp = mean(splicedRows[s]), z = mean(zero)
            let fired = st.fireCounts
            let dead = fired.filter { $0 == 0 }.count
            let dense = fired.filter { Double($0) / Double(max(st.tokens, 1)) > options.denseThreshold }.count
            results.append(SAEEvalResult(
                sae: sae.name, hook: sae.hook.description, tokens: st.tokens, rows: rows,
                ceTokens: ceRows * ctx, ceRows: ceRows,
                fvu: st.fvu, meanL0: Double(st.activeTotal) / Double(max(st.tokens, 1)), dSAE: sae.dSAE,
                deadLatents: dead, deadFraction: Double(dead) / Double(sae.dSAE),
                denseLatents: dense, denseFraction: Double(dense) / Double(sae.dSAE),
                denseThreshold: options.denseThreshold,
                ceClean: c, ceSpliced: sp, ceZeroAblated: z, deltaCE: sp - c, deltaCEInterval: boot.delta,
                lossRecovered: (z - sp) / (z - c), lossRecoveredInterval: boot.recovered))
        }
        return SAEEvalReport(tokensFile: tokensFile, results: results, seconds: seconds,
                             tokensPerSecond: Double(rows * ctx) / max(seconds, 1e-9))
    }

    static func mean(_ x: [Float]) -> Double { x.isEmpty ? .nan : x.reduce(0) { $0 + Double($1) } / Double(x.count) }
    static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// Percentile bootstrap over rows of ΔCE and of the fraction of loss recovered.
    static func bootstrap(clean: [Double], spliced: [Double], zero: [Double], samples: Int,
                          seed: UInt64) -> (delta: Interval, recovered: Interval) {
        let n = clean.count
        guard n > 0, spliced.count == n, zero.count == n, samples > 0 else {
            return (Interval(low: .nan, high: .nan), Interval(low: .nan, high: .nan))
        }
        var rng = Xoshiro256StarStar(seed: seed, stream: 0xB007)
        var deltas: [Double] = [], recs: [Double] = []
        deltas.reserveCapacity(samples); recs.reserveCapacity(samples)
        for _ in 0 ..< samples {
            var c = 0.0, s = 0.0, z = 0.0
            for _ in 0 ..< n {
                let i = Int(rng.next() % UInt64(n))
                c += clean[i]; s += spliced[i]; z += zero[i]
            }
            deltas.append((s - c) / Double(n))
            recs.append((z - s) / (z - c))
        }
        func pct(_ v: [Double]) -> Interval {
            let sorted = v.filter(\.isFinite).sorted()
            return Interval(low: Percentile.lowerRank(sorted, 0.025) ?? .nan, high: Percentile.lowerRank(sorted, 0.975) ?? .nan)
        }
        return (pct(deltas), pct(recs))
    }
}

/// Running reconstruction statistics of one SAE.
struct ReconstructionStats {
    let dIn: Int
    var tokens = 0
    var sumX: [Double]
    var sumSqX: Double = 0
    var sumSqErr: Double = 0
    var activeTotal = 0
    var fireCounts: [Int]

    init(dIn: Int, dSAE: Int) {
        self.dIn = dIn
        sumX = [Double](repeating: 0, count: dIn)
        fireCounts = [Int](repeating: 0, count: dSAE)
    }

    mutating func add(x: [Float], recon: [Float], rows: Int, active: [Int32]) {
        for r in 0 ..< rows {
            for j in 0 ..< dIn {
                let v = Double(x[r * dIn + j])
                let e = v - Double(recon[r * dIn + j])
                sumX[j] += v; sumSqX += v * v; sumSqErr += e * e
            }
        }
        tokens += rows
        activeTotal += active.count
        for l in active where Int(l) >= 0 && Int(l) < fireCounts.count { fireCounts[Int(l)] += 1 }
    }

    /// Σ‖x − x̂‖² / Σ‖x − mean‖², with the variance from running sums.
    var fvu: Double {
        guard tokens > 0 else { return .nan }
        let meanSq = sumX.reduce(0) { $0 + $1 * $1 } / Double(tokens)
        let variance = sumSqX - meanSq
        return variance > 0 ? sumSqErr / variance : .nan
    }
}
