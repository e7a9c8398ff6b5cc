import ArgumentParser
import Benchmarks
import FeaturescopeCore
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
    }

    func run() async throws {
        useCPUClock = cpuClock ? modelOptions.threads : 0
        let model = try modelOptions.load()
        var rng = SplitMix64(seed: 42)
        let vocab = model.config.vocabSize
        func randomTokens(_ n: Int) -> [Int32] { (0 ..< n).map { _ in Int32(rng.next() % UInt64(vocab)) } }

        func promptTPS(_ n: Int, logits: LogitsMode) throws -> Double {
            let tokens = randomTokens(n)
            _ = try model.forward(tokens: tokens, logits: logits)  // warm-up
            let times = try (0 ..< runs).map { _ in try timed { _ = try model.forward(tokens: tokens, logits: logits) } }
            return Double(n) / median(times)
        }
        let doPrompt = only == nil || only == "prompt"
        let doGenerate = only == nil || only == "generate"
        let doSAE = only == nil || only == "sae"
        let p128 = doPrompt ? try promptTPS(128, logits: .all) : 0
        let p128Last = doPrompt ? try promptTPS(128, logits: .last) : 0
        let p512 = doPrompt ? try promptTPS(512, logits: .all) : 0
        let p512Last = doPrompt ? try promptTPS(512, logits: .last) : 0
        // The generator's int8 prompt path (quantizedPrompts: int8 activations × stored blocks, as llama.cpp).
        func quantizedPromptTPS(_ n: Int) throws -> Double {
            let tokens = randomTokens(n)
            let g = Generator(model: model, maxLength: n, quantizedPrompts: true)
            _ = try g.append(tokens)  // warm-up
            let times = try (0 ..< runs).map { _ in try timed { g.reset(); _ = try g.append(tokens) } }
            return Double(n) / median(times)
        }
        let p128Int8 = doPrompt ? try quantizedPromptTPS(128) : 0

        let prompt = randomTokens(16)
        let generator = Generator(model: model, maxLength: 128)
        if doGenerate { _ = try generator.generate(prompt: prompt, maxNewTokens: 8, stopTokens: []) }  // warm-up
        let genTimes = try (0 ..< (doGenerate ? runs : 0)).map { _ -> Double in
            generator.reset()
            var logits = try generator.append(prompt)
            return try timed {
                for _ in 0 ..< 64 { logits = try generator.append([Int32(argmax(logits))]) }
            }
        }
        let gen = doGenerate ? 64 / median(genTimes) : 0
        let sae = !doSAE ? 0 : try SAEEncodeBenchmark.tokensPerSecond(runs: runs, seed: 7, median: median)
        let rss = peakRSSMegabytes()

        if json {
            let out: [String: Double] = [
                "prompt_tps_128": p128, "prompt_tps_128_last_logits": p128Last, "prompt_tps_512": p512, "prompt_tps_512_last_logits": p512Last,
                "prompt_tps_128_int8": p128Int8,
                "generate_tps": gen, "sae_encode_tps": sae, "peak_rss_mb": rss, "load_seconds": model.loadSeconds,
                "threads": Double(modelOptions.threads),
                "float_weights_mb": Double(model.weights.floatBytes) / 1_048_576,
                "stored_weights_mb": Double(model.weights.storedBytes) / 1_048_576,
            ]
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(out), as: UTF8.self))
        } else {
            print(String(format: "prompt 128 tokens     %8.1f tokens/s (all logits), %.1f (last logits only)", p128, p128Last))
            print(String(format: "prompt 512 tokens     %8.1f tokens/s (all logits), %.1f (last logits only)", p512, p512Last))
            print(String(format: "prompt 128, int8      %8.1f tokens/s (generator, int8 activations, last logits)", p128Int8))
            print(String(format: "generate 64 tokens    %8.1f tokens/s", gen))
            print(String(format: "SAE encode 576→4608   %8.1f tokens/s", sae))
            print(String(format: "peak RSS              %8.1f MB (model load %.2f s, %d threads, median of %d)",
                         rss, model.loadSeconds, modelOptions.threads, runs))
            print(String(format: "weights               %8.1f MB matrices in stored precision + %.1f MB Float vectors",
                         Double(model.weights.storedBytes) / 1_048_576, Double(model.weights.floatBytes) / 1_048_576))
        }
    }
}

/// When > 0, `timed` reports process CPU seconds divided by this thread count (a loaded-machine estimate).
nonisolated(unsafe) private var useCPUClock = 0

/// Wall-clock seconds of `body` (or the CPU-time estimate, see `useCPUClock`).
func timed(_ body: () throws -> Void) rethrows -> Double {
    if useCPUClock > 0 {
        var a = timespec(), b = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a)
        try body()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b)
        return (Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9) / Double(useCPUClock)
    }
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Peak resident set size (VmHWM from /proc/self/status) in MB; 0 where unavailable.
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
