import Foundation
import FeaturescopeCore

/// Options of a whole training run (besides the hyper-parameters).
public struct TrainingRunOptions: Sendable {
    /// Output folder: SAELens files, `train_log.jsonl`, `training_summary.json`, checkpoint.
    public var outputDirectory: String
    public var provenance: TrainingProvenance
    /// Save a checkpoint every this many steps (0 = never).
    public var checkpointEvery: Int = 250
    /// Write a log line every this many steps (averages over the interval).
    public var logEvery: Int = 10
    /// Continue from the checkpoint in the output folder.
    public var resume: Bool = false
    /// Tokens sampled to estimate the input scale and the decoder-bias initialisation.
    public var initSampleTokens: Int = 16384
    public var showProgress: Bool = true
    /// Stop after this many steps of this invocation (for tests of interruption; nil = run to the end).
    public var stopAfterSteps: Int?

    public init(outputDirectory: String, provenance: TrainingProvenance) {
        self.outputDirectory = outputDirectory
        self.provenance = provenance
    }
}

/// One line of `train_log.jsonl`.
public struct TrainingLogLine: Codable, Equatable, Sendable {
    public var step: Int
    public var tokens: Int
    public var lr: Float
    public var fvu: Float
    public var auxk_loss: Float
    public var l0: Float
    public var dead_fraction: Float
    public var tokens_per_s: Double
    public var elapsed_s: Double
}

/// What a finished (or stopped) run reports; also written as `training_summary.json`.
public struct TrainingSummary: Codable, Equatable, Sendable {
    public var hook: String
    public var config: TopKTrainingConfig
    public var stepsDone: Int
    public var trainingTokens: Int
    public var uniqueTokens: Int
    public var epochs: Double
    public var inputScale: Float
    /// Mean FVU over the last 5% of steps (at least 1) of this invocation.
    public var finalFVU: Float
    public var finalL0: Float
    public var finalDeadFraction: Float
    /// Latents that never fired during the sparsity window at the end of training.
    public var neverFiredFraction: Float
    /// Latents firing on more than 10% of tokens during that window.
    public var denseFraction: Float
    /// Training tokens per second of this invocation (data loading included, setup excluded).
    public var tokensPerSecond: Double
    /// Training tokens per CPU-second of this process (all threads): a load-independent cost measure.
    public var tokensPerCPUSecond: Double
    /// Seconds spent gathering batches from the store (f16 → f32, random access).
    public var dataSeconds: Double
    /// Seconds per phase of the optimiser steps.
    public var phaseSeconds: TrainingPhaseTimes
    /// OpenBLAS kernel set in use.
    public var blasCore: String
    public var secondsTraining: Double
    public var finished: Bool
}

/// Runs TopK training from an activation source to a SAELens folder, with checkpoints and resume.
public enum TopKTrainingRun {
    /// Trains (or resumes) and, when the last step is reached, writes the SAELens files.
    public static func run(source: ActivationSource, config: TopKTrainingConfig,
                           options: TrainingRunOptions) throws -> TrainingSummary {
        let out = options.outputDirectory
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw TrainingError.invalidStore(path: out, reason: "cannot create folder: \(error.localizedDescription)")
        }
        guard source.dIn == config.dIn else {
            throw TrainingError.invalidConfig("activations have d_in \(source.dIn), configuration says \(config.dIn)")
        }
        let hasCheckpoint = FileManager.default.fileExists(atPath: out + "/" + TrainingCheckpoint.fileName)
        let trainer: TopKTrainer
        let scale: Float
        if hasCheckpoint {
            guard options.resume else {
                throw TrainingError.resumeMismatch(path: out, reason: "a checkpoint exists; pass --resume to continue it")
            }
            let (t, st) = try TrainingCheckpoint.load(directory: out, threads: config.threads)
            var a = st.config, b = config
            a.threads = 0; b.threads = 0
            guard a == b else {
                throw TrainingError.resumeMismatch(path: out, reason: "the checkpoint was trained with different settings")
            }
            guard st.sourceTokens == source.tokenCount, st.hookName == options.provenance.hookName else {
                throw TrainingError.resumeMismatch(path: out, reason: "the checkpoint saw \(st.sourceTokens) tokens of \(st.hookName); now \(source.tokenCount) of \(options.provenance.hookName)")
            }
            trainer = t
            scale = st.inputScale
        } else {
            try config.validate()
            let (sample, rows) = DataStatistics.sample(source, count: options.initSampleTokens, seed: config.seed)
            let norm = DataStatistics.meanNorm(sample, rows: rows, dIn: config.dIn)
            scale = config.normalizeInputs && norm > 0 ? Float(Double(config.dIn).squareRoot() / norm) : 1
            let scaled = sample.map { $0 * scale }
            let sae = TopKSAEWeights.random(dIn: config.dIn, dSAE: config.dSAE, k: config.k, seed: config.seed)
            let bias: [Float]
            switch config.decoderBiasInit {
            case .geometricMedian: bias = DataStatistics.geometricMedian(scaled, rows: rows, dIn: config.dIn)
            case .mean: bias = DataStatistics.mean(scaled, rows: rows, dIn: config.dIn)
            case .zero: bias = [Float](repeating: 0, count: config.dIn)
            }
            sae.decoderBias.pointer.update(from: bias, count: config.dIn)
            trainer = try TopKTrainer(config: config, sae: sae)
        }
        return try loop(trainer: trainer, source: source, scale: scale, options: options)
    }

    static func loop(trainer: TopKTrainer, source: ActivationSource, scale: Float,
                     options: TrainingRunOptions) throws -> TrainingSummary {
        let config = trainer.config
        let out = options.outputDirectory
        let B = config.batchSize, d = config.dIn
        var sampler = try ShuffledBatchSampler(tokenCount: source.tokenCount, batchSize: B, seed: config.seed)
        let logPath = out + "/train_log.jsonl"
        let log = try TrainingLog(path: logPath, keepThroughStep: trainer.step)
        // Fire counts cover the end of training: the last epoch, or the last half if shorter.
        let totalTokens = config.totalSteps * B
        let windowTokens = min(sampler.batchesPerEpoch * B, totalTokens / 2)
        let windowStartStep = config.totalSteps - max(1, windowTokens / B)
        let x = FloatBuffer(count: B * d)
        let startStep = trainer.step
        let lastStep = options.stopAfterSteps.map { min(config.totalSteps, startStep + max(0, $0)) } ?? config.totalSteps
        let bar = ProgressBar(total: config.totalSteps * B, label: "train \(options.provenance.hookName)", unit: "tok",
                              initial: startStep * B, enabled: options.showProgress)
        let started = Date()
        let cpuStart = processCPUSeconds()
        var dataSeconds: Double = 0
        var acc = StatsAccumulator(), tail = StatsAccumulator()
        let tailFrom = max(startStep, lastStep - max(1, (lastStep - startStep) / 20))
        var lastLogTime = started
        var lastLogStep = startStep
        for s in startStep ..< lastStep {
            if s == windowStartStep { trainer.resetFireCounts() }
            let idx = sampler.indices(forStep: s)
            let g0 = monotonicSeconds()
            idx.withUnsafeBufferPointer { source.gather($0, scale: scale, into: x.pointer) }
            dataSeconds += monotonicSeconds() - g0
            let st = try trainer.trainStep(x.pointer)
            acc.add(st)
            if s >= tailFrom { tail.add(st) }
            let done = s + 1
            if done % max(1, options.logEvery) == 0 || done == lastStep {
                let now = Date()
                let rate = Double((done - lastLogStep) * B) / max(now.timeIntervalSince(lastLogTime), 1e-9)
                try log.append(TrainingLogLine(step: done, tokens: done * B, lr: st.learningRate, fvu: acc.fvu,
                                               auxk_loss: acc.aux, l0: acc.l0, dead_fraction: acc.dead,
                                               tokens_per_s: rate, elapsed_s: now.timeIntervalSince(started)))
                bar.update(done * B, extra: String(format: "FVU %.3f L0 %.1f dead %.1f%%", acc.fvu, acc.l0, acc.dead * 100))
                acc = StatsAccumulator()
                lastLogTime = now
                lastLogStep = done
            }
            if options.checkpointEvery > 0 && done % options.checkpointEvery == 0 && done < config.totalSteps {
                try saveCheckpoint(trainer, scale: scale, source: source, options: options)
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let cpuSeconds = processCPUSeconds() - cpuStart
        bar.finish()
        let finished = trainer.step >= config.totalSteps
        let counted = max(trainer.fireCountTokens, 1)
        let fractions = trainer.fireCounts.map { Float(Double($0) / Double(counted)) }
        if finished {
            try SAELensExport.write(trainer.sae, inputScale: scale, provenance: options.provenance,
                                    firingFraction: fractions, to: out)
            try? FileManager.default.removeItem(atPath: out + "/" + TrainingCheckpoint.fileName)
        } else {
            try saveCheckpoint(trainer, scale: scale, source: source, options: options)
        }
        let n = Float(config.dSAE)
        let summary = TrainingSummary(
            hook: options.provenance.hookName, config: config, stepsDone: trainer.step,
            trainingTokens: trainer.step * B, uniqueTokens: source.tokenCount,
            epochs: Double(trainer.step * B) / Double(source.tokenCount), inputScale: scale,
            finalFVU: tail.fvu, finalL0: tail.l0, finalDeadFraction: tail.dead,
            neverFiredFraction: Float(fractions.filter { $0 == 0 }.count) / n,
            denseFraction: Float(fractions.filter { $0 > 0.1 }.count) / n,
            tokensPerSecond: Double((lastStep - startStep) * B) / max(seconds, 1e-9),
            tokensPerCPUSecond: Double((lastStep - startStep) * B) / max(cpuSeconds, 1e-9),
            dataSeconds: dataSeconds, phaseSeconds: trainer.phaseTimes, blasCore: BLASSetup.coreName,
            secondsTraining: seconds, finished: finished)
        try AtomicFile.writeJSON(summary, to: out + "/training_summary.json")
        return summary
    }

    static func saveCheckpoint(_ trainer: TopKTrainer, scale: Float, source: ActivationSource,
                               options: TrainingRunOptions) throws {
        let st = TrainingCheckpointState(step: trainer.step, config: trainer.config, inputScale: scale,
                                         fireCountTokens: trainer.fireCountTokens, sourceTokens: source.tokenCount,
                                         hookName: options.provenance.hookName)
        try TrainingCheckpoint.save(trainer, state: st, directory: options.outputDirectory)
    }
}

/// User + system CPU seconds of this process so far (all threads).
func processCPUSeconds() -> Double {
    var u = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &u)
    #else
    getrusage(RUSAGE_SELF, &u)
    #endif
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6
        + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
}

/// Running means of step statistics.
struct StatsAccumulator {
    var n = 0
    var fvuSum: Double = 0, auxSum: Double = 0, l0Sum: Double = 0, deadSum: Double = 0
    mutating func add(_ s: TopKStepStats) {
        n += 1
        fvuSum += Double(s.fvu); auxSum += Double(s.auxKLoss); l0Sum += Double(s.l0); deadSum += Double(s.deadFraction)
    }
    var fvu: Float { n > 0 ? Float(fvuSum / Double(n)) : .nan }
    var aux: Float { n > 0 ? Float(auxSum / Double(n)) : .nan }
    var l0: Float { n > 0 ? Float(l0Sum / Double(n)) : .nan }
    var dead: Float { n > 0 ? Float(deadSum / Double(n)) : .nan }
}

/// `train_log.jsonl`: one JSON object per line. On resume, lines after the checkpoint's step
/// are dropped so the log matches the restored state.
final class TrainingLog {
    let path: String
    private let encoder: JSONEncoder

    init(path: String, keepThroughStep step: Int) throws {
        self.path = path
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var kept = Data()
        if step > 0, let old = FileManager.default.contents(atPath: path) {
            for line in old.split(separator: UInt8(ascii: "\n")) {
                if let l = try? JSONDecoder().decode(TrainingLogLine.self, from: Data(line)), l.step <= step {
                    kept.append(Data(line)); kept.append(UInt8(ascii: "\n"))
                }
            }
        }
        try AtomicFile.write(kept, to: path)
    }

    func append(_ line: TrainingLogLine) throws {
        var data = try encoder.encode(line)
        data.append(UInt8(ascii: "\n"))
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw TrainingError.invalidStore(path: path, reason: "cannot open the training log for appending")
        }
        defer { try? h.close() }
        do {
            try h.seekToEnd()
            try h.write(contentsOf: data)
        } catch {
            throw TrainingError.invalidStore(path: path, reason: "cannot append to the training log: \(error.localizedDescription)")
        }
    }
}
