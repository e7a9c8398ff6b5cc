import ArgumentParser
import Benchmarks
import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import TensorFormats

/// `featurescope cache-bench`: generate a synthetic 131,072-latent cache (once) and time the reader.
struct CacheBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache-bench",
        abstract: "Benchmark the latent cache: cold open, record reads, resident memory, builder cost.",
        discussion: "Generates a synthetic cache (seeded random rows and activations) the first time, then measures it.")

    @Option(help: "Cache folder (default: <featurescope cache dir>/bench/synthetic-<latents>).")
    var cache: String?
    @Option(help: "Latents of the synthetic cache.") var latents = 131_072
    @Option(help: "Token rows of the synthetic cache.") var rows = 2048
    @Option(help: "Tokens per row.") var rowLength = 256
    @Option(help: "Latents firing per token.") var activePerToken = 32
    @Option(help: "Random latents timed for the warm read.") var samples = 1000
    @Flag(help: "Regenerate the synthetic cache even if it exists.") var regenerate = false
    @Option(help: "Write the results into this markdown file's \"Latent cache\" section (e.g. docs/performance.md).")
    var writeDoc: String?
    @Option(help: "Machine description for the markdown section.") var machine = "this machine"
    @Flag(help: "Print the results as JSON.") var json = false
    @Option(help: "GGUF model for the forward-pass comparison (default: the bundled one, when present).") var model: String?
    @Flag(help: "Skip the forward-pass comparison.") var noForward = false
    @Option(help: "JSON statistics of a real build (`featurescope cache --json > FILE`) to include.") var buildStats: String?
    @Option(help: "What that build was (model, SAE, corpus), for the report.") var buildDescription: String?
    @Option(help: "Also measure a cold open of a cache with this many latents (generated if absent), for comparison.")
    var baselineLatents: Int?

    func run() async throws {
        let path = cache ?? FeaturescopePaths.cacheDirectory() + "/bench/synthetic-\(latents)"
        var generated: Double?
        if regenerate || !FileManager.default.fileExists(atPath: path + "/manifest.json") {
            let spec = SyntheticCacheSpec(latentCount: latents, rows: rows, rowLength: rowLength, activePerToken: activePerToken)
            let bar = ProgressBar(total: rows, label: "generate", unit: "rows", enabled: !json)
            var finalizing: ProgressBar?
            let t0 = Date()
            try SyntheticCache.generate(at: path, spec: spec, overwrite: true) { stage, done, total in
                if stage == "rows" { bar.update(done) } else {
                    if finalizing == nil { bar.finish(); finalizing = ProgressBar(total: total, label: "finalize", unit: "latents", enabled: !json) }
                    finalizing?.update(done)
                }
            }
            finalizing?.finish()
            generated = Date().timeIntervalSince(t0)
        }
        var baseline: (ms: Double, rssGrowthKB: Int, latents: Int)?
        if let n = baselineLatents {
            let p = FeaturescopePaths.cacheDirectory() + "/bench/synthetic-\(n)"
            if !FileManager.default.fileExists(atPath: p + "/manifest.json") {
                try SyntheticCache.generate(at: p, spec: SyntheticCacheSpec(latentCount: n, rows: rows, rowLength: rowLength, activePerToken: activePerToken), overwrite: true)
            }
            baseline = try CacheBenchmark.coldOpen(path: p)
        }
        var r = try CacheBenchmark.measure(path: path, samples: samples, generateSeconds: generated)
        if let p = buildStats {
            guard let d = FileManager.default.contents(atPath: p) else { throw ValidationError("cannot read \(p)") }
            r.realBuild = try JSONDecoder().decode(CacheBuildStats.self, from: d)
            r.realBuildDescription = buildDescription
        }
        if let b = baseline { r.baselineLatents = b.latents; r.baselineColdOpenMs = b.ms; r.baselineOpenRSSGrowthKB = b.rssGrowthKB }
        if !noForward, let m = model ?? defaultModelPath() { r.setForward(microsPerToken: try EngineBenchmark.forwardMicrosPerToken(model: TransformerModel(gguf: GGUFFile(path: m)))) }
        if let doc = writeDoc { try CacheBenchmark.writeSection(CacheBenchmark.markdown(r, machine: machine), to: doc) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print(CacheBenchmark.markdown(r, machine: machine))
        }
    }
}
