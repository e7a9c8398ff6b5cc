import ArgumentParser
import Foundation
import SAETraining

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a TopK sparse autoencoder on collected activations.",
        discussion: """
        Reads the activation store written by `featurescope collect`, trains a TopK SAE (Adam, unit-norm \
        decoder, AuxK loss for dead latents, linear warm-up and decay, inputs scaled to E‖x‖ = √d_in) on \
        shuffled batches across all shards, and writes a SAELens v6 folder (cfg.json, \
        sae_weights.safetensors, sparsity.safetensors) plus train_log.jsonl and training_summary.json. \
        A checkpoint is saved every --checkpoint-every steps; rerun with --resume after an interruption.
        """)

    @Option(name: .long, help: "Activation store folder (from `featurescope collect`).")
    var activations: String

    @Option(name: .long, help: "Hook to train on, e.g. blocks.3.attn.hook_z.")
    var hook: String

    @Option(name: .long, help: "Output folder for the SAE.")
    var out: String

    @Option(name: .long, help: "Active latents per token.")
    var k: Int = 32

    @Option(name: .long, help: "Number of latents (default 8 × d_in).")
    var width: Int?

    @Option(name: .long, help: "Peak Adam learning rate.")
    var lr: Float = 1.5e-3

    @Option(name: .long, help: "Tokens per step.")
    var batch: Int = 1024

    @Option(name: .long, help: "Passes over the stored tokens (ignored with --steps).")
    var epochs: Double = 3

    @Option(name: .long, help: "Total optimiser steps (overrides --epochs).")
    var steps: Int?

    @Option(name: .long, help: "Linear warm-up steps.")
    var warmup: Int = 50

    @Option(name: .customLong("dead-tokens"), help: "A latent is dead after this many training tokens without firing (AuxK then trains it).")
    var deadTokens: Int = 250_000

    @Option(name: .customLong("auxk-coef"), help: "Weight of the AuxK loss.")
    var auxKCoefficient: Float = 1.0 / 32

    @Option(name: .customLong("b-dec-init"), help: "Decoder bias initialisation: median (geometric), mean or zero.")
    var bDecInit: String = "median"

    @Flag(name: .customLong("no-normalize"), help: "Do not scale inputs to E‖x‖ = √d_in.")
    var noNormalize = false

    @Option(name: .long, help: "Random seed (initialisation and batch order).")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Threads for the sparse kernels (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints (0 = none).")
    var checkpointEvery: Int = 250

    @Option(name: .customLong("log-every"), help: "Steps between log lines.")
    var logEvery: Int = 10

    @Flag(name: .long, help: "Continue from the checkpoint in --out.")
    var resume = false

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard k > 0 else { throw ValidationError("--k must be positive") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard DecoderBiasInit(rawValue: bDecInit) != nil else {
            throw ValidationError("--b-dec-init must be one of: median, mean, zero")
        }
    }

    func run() async throws {
        if !json && !quiet, let hint = BLASSetup.speedHint {
            FileHandle.standardError.write(Data((hint + "\n").utf8))
        }
        let reader = try ActivationShardReader(directory: activations)
        let source = try reader.hook(hook)
        let d = source.dIn
        let totalSteps = steps ?? max(1, Int((epochs * Double(source.tokenCount) / Double(batch)).rounded(.up)))
        var config = TopKTrainingConfig(dIn: d, dSAE: width ?? 8 * d, k: k, batchSize: batch, totalSteps: totalSteps)
        config.learningRate = lr
        config.warmupSteps = warmup
        config.deadTokenThreshold = deadTokens
        config.auxKCoefficient = auxKCoefficient
        config.decoderBiasInit = DecoderBiasInit(rawValue: bDecInit) ?? .geometricMedian
        config.normalizeInputs = !noNormalize
        config.seed = seed
        config.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let m = reader.manifest
        var options = TrainingRunOptions(outputDirectory: out, provenance: TrainingProvenance(
            modelName: m.modelName, hookName: hook, contextSize: m.contextSize, datasetPath: m.tokensFile))
        options.checkpointEvery = checkpointEvery
        options.logEvery = logEvery
        options.resume = resume
        options.showProgress = !quiet && !json
        if !json && !quiet {
            FileHandle.standardError.write(Data("training \(hook): \(source.tokenCount) stored tokens, d_in \(d), width \(config.dSAE), k \(k), batch \(batch), \(totalSteps) steps (\(String(format: "%.2f", Double(totalSteps * batch) / Double(source.tokenCount))) epochs)\n".utf8))
        }
        let summary = try TopKTrainingRun.run(source: source, config: config, options: options)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
        } else {
            let p = summary.phaseSeconds
            print("""
            \(summary.finished ? "finished" : "stopped") after \(summary.stepsDone) steps (\(summary.trainingTokens) tokens, \(String(format: "%.2f", summary.epochs)) epochs)
            FVU (last 5% of steps)  \(String(format: "%.4f", summary.finalFVU))
            L0                      \(String(format: "%.2f", summary.finalL0))
            dead (AuxK mask)        \(String(format: "%.2f%%", summary.finalDeadFraction * 100))
            never fired at the end  \(String(format: "%.2f%%", summary.neverFiredFraction * 100))
            dense (> 10% of tokens) \(String(format: "%.2f%%", summary.denseFraction * 100))
            training speed          \(String(format: "%.0f", summary.tokensPerSecond)) tokens/s wall, \(String(format: "%.0f", summary.tokensPerCPUSecond)) tokens per CPU-second (OpenBLAS \(summary.blasCore))
            time per phase (s)      data \(String(format: "%.1f", summary.dataSeconds)), encoder \(String(format: "%.1f", p.encoder)), decoder \(String(format: "%.1f", p.decoder)), AuxK \(String(format: "%.1f", p.auxK)), backward \(String(format: "%.1f", p.backward)), Adam \(String(format: "%.1f", p.adam)), stats \(String(format: "%.1f", p.statistics))
            output                  \(out)
            """)
        }
    }
}
