import FeaturescopeCore
import Foundation
import ModelEngine

/// The measurements behind `featurescope bench`: prompt processing (the full forward pass on random tokens, with
/// logits for every position or only the last), generation (64 single-token steps with the KV cache after a
/// 16-token prompt; the generator's int8 prompt path on 128 tokens), the product's SAE encoder, peak memory. Each figure is the median of `runs` runs after a
/// warm-up.
public enum EngineBenchmark {
    public enum Part: String, CaseIterable, Sendable {
        case prompt, generate, sae
    }

    public struct Result: Sendable {
        /// Tokens per second; 0 for a part not measured.
        public var prompt128 = 0.0, prompt128LastLogits = 0.0, prompt512 = 0.0, prompt512LastLogits = 0.0
        /// The generator's int8 prompt path (quantizedPrompts: int8 activations × stored blocks, as llama.cpp), last logits.
        public var prompt128Int8 = 0.0
        public var generate = 0.0, saeEncode = 0.0
        public var peakRSSMegabytes = 0.0
    }

    /// Runs the `parts` asked for on `model`. With `cpuClockThreads` > 0 each run is timed in process CPU seconds
    /// divided by that thread count (an estimate for a loaded machine) instead of wall time.
    public static func run(model: TransformerModel, runs: Int, parts: Set<Part>, cpuClockThreads: Int = 0) throws -> Result {
        let clock = Stopwatch(cpuThreads: cpuClockThreads)
        var rng = SplitMix64(seed: 42)
        let vocab = model.config.vocabSize
        func randomTokens(_ n: Int) -> [Int32] { (0 ..< n).map { _ in Int32(rng.next() % UInt64(vocab)) } }
        func promptTPS(_ n: Int, logits: LogitsMode) throws -> Double {
            let tokens = randomTokens(n)
            _ = try model.forward(tokens: tokens, logits: logits)  // warm-up
            let times = try (0 ..< runs).map { _ in try clock.time { _ = try model.forward(tokens: tokens, logits: logits) } }
            return Double(n) / Percentile.median(times)
        }
        var r = Result()
        if parts.contains(.prompt) {
            r.prompt128 = try promptTPS(128, logits: .all)
            r.prompt128LastLogits = try promptTPS(128, logits: .last)
            r.prompt512 = try promptTPS(512, logits: .all)
            r.prompt512LastLogits = try promptTPS(512, logits: .last)
            let tokens = randomTokens(128)
            let g = Generator(model: model, maxLength: 128, quantizedPrompts: true)
            _ = try g.append(tokens)  // warm-up
            let times = try (0 ..< runs).map { _ in try clock.time { g.reset(); _ = try g.append(tokens) } }
            r.prompt128Int8 = 128 / Percentile.median(times)
        }
        let prompt = randomTokens(16)
        if parts.contains(.generate) {
            let generator = Generator(model: model, maxLength: 128)
            _ = try generator.generate(prompt: prompt, maxNewTokens: 8, stopTokens: [])  // warm-up
            let times = try (0 ..< runs).map { _ -> Double in
                generator.reset()
                var logits = try generator.append(prompt)
                return try clock.time {
                    for _ in 0 ..< 64 { logits = try generator.append([Int32(argmax(logits))]) }
                }
            }
            r.generate = 64 / Percentile.median(times)
        }
        if parts.contains(.sae) {
            r.saeEncode = try SAEEncodeBenchmark.tokensPerSecond(runs: runs, seed: 7, median: Percentile.median)
        }
        r.peakRSSMegabytes = peakRSSMegabytes()
        return r
    }

    /// The bare forward pass (a batch of 4 rows × 256 random tokens, the residual stream after block 15 — or the last
    /// block of a smaller model — captured, no logits), in µs
    /// per token: the cost the latent cache's overhead is compared with (`cache-bench`).
    public static func forwardMicrosPerToken(model: TransformerModel) throws -> Double {
        var rng = SplitMix64(seed: 5)
        let rows = (0 ..< 4).map { _ in (0 ..< 256).map { _ in Int32(100 + rng.below(29_900)) } }
        let hook = HookPoint.residPost(min(15, model.config.layerCount - 1))
        _ = try model.forward(batch: [Array(rows[0].prefix(16))], captures: [hook], logits: .none)  // warm-up
        let seconds = try Stopwatch(cpuThreads: 0).time { _ = try model.forward(batch: rows, captures: [hook], logits: .none) }
        return seconds * 1e6 / Double(4 * 256)
    }

    /// Peak resident set size (VmHWM from /proc/self/status) in MB; 0 where unavailable.
    public static func peakRSSMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
}

/// Wall-clock seconds of a body, or process CPU seconds ÷ `cpuThreads` when that is > 0.
struct Stopwatch {
    let cpuThreads: Int

    func time(_ body: () throws -> Void) rethrows -> Double {
        if cpuThreads > 0 {
            var a = timespec(), b = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a)
            try body()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b)
            return (Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9) / Double(cpuThreads)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
