import ArgumentParser
import Benchmarks
import Foundation
import ModelEngine

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the engine: prompt processing, generation, SAE encoding, peak memory.",
        discussion: """
        Prompt processing runs the full forward pass with logits for every position (as transformers does) on \
        128 and 512 random tokens (and 128 through the generator's int8 prompt path); generation times 64 single-token steps after a 16-token prompt; SAE encoding \
        runs the SAE encoder (SparseAutoencoder.encode) of a 576→4608 TopK (k = 32) SAE with random weights over \
        512 activations. Each number is the median \
        of --runs runs. Build with -c release before trusting the numbers.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Runs per measurement (the median is reported).")
    var runs: Int = 5

    @Option(name: .long, help: ArgumentHelp("Measure only one part: prompt, generate or sae (others report 0).", visibility: .hidden))
    var only: String?

    @Flag(name: .long, help: "Time with process CPU seconds ÷ --threads instead of wall time (an estimate for a loaded machine).")
    var cpuClock = false

    @Flag(name: .long, help: "Print JSON: prompt_tps_128, prompt_tps_128_last_logits, prompt_tps_128_int8, prompt_tps_512, generate_tps, sae_encode_tps, peak_rss_mb.")
    var json = false

    func validate() throws {
        guard (1 ... 100).contains(runs) else { throw ValidationError("--runs must be 1…100") }
        if let only, EngineBenchmark.Part(rawValue: only) == nil { throw ValidationError("--only must be prompt, generate or sae") }
    }

    func run() async throws {
        let model = try modelOptions.load()
        let parts = Set(only.flatMap(EngineBenchmark.Part.init).map { [$0] } ?? EngineBenchmark.Part.allCases)
        let r = try EngineBenchmark.run(model: model, runs: runs, parts: parts, cpuClockThreads: cpuClock ? modelOptions.threads : 0)
        if json {
            let out: [String: Double] = [
                "prompt_tps_128": r.prompt128, "prompt_tps_128_last_logits": r.prompt128LastLogits, "prompt_tps_512": r.prompt512,
                "prompt_tps_512_last_logits": r.prompt512LastLogits,
                "prompt_tps_128_int8": r.prompt128Int8, "generate_tps": r.generate, "sae_encode_tps": r.saeEncode,
                "peak_rss_mb": r.peakRSSMegabytes, "load_seconds": model.loadSeconds, "threads": Double(modelOptions.threads),
                "float_weights_mb": Double(model.weights.floatBytes) / 1_048_576,
                "stored_weights_mb": Double(model.weights.storedBytes) / 1_048_576,
            ]
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(out), as: UTF8.self))
        } else {
            print(String(format: "prompt 128 tokens     %8.1f tokens/s (all logits), %.1f (last logits only)", r.prompt128, r.prompt128LastLogits))
            print(String(format: "prompt 512 tokens     %8.1f tokens/s (all logits), %.1f (last logits only)", r.prompt512, r.prompt512LastLogits))
            print(String(format: "prompt 128, int8      %8.1f tokens/s (generator, int8 activations, last logits)", r.prompt128Int8))
            print(String(format: "generate 64 tokens    %8.1f tokens/s", r.generate))
            print(String(format: "SAE encode 576→4608   %8.1f tokens/s", r.saeEncode))
            print(String(format: "peak RSS              %8.1f MB (model load %.2f s, %d threads, median of %d)",
                         r.peakRSSMegabytes, model.loadSeconds, modelOptions.threads, runs))
            print(String(format: "weights               %8.1f MB matrices in stored precision + %.1f MB Float vectors",
                         Double(model.weights.storedBytes) / 1_048_576, Double(model.weights.floatBytes) / 1_048_576))
        }
    }
}
