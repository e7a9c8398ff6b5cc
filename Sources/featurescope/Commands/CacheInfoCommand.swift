import ArgumentParser
import FeaturescopeCore
import Foundation
import LatentCache

/// `featurescope cache-info CACHE [--json] [--verify]`
struct CacheInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache-info",
        abstract: "Summarise a latent cache: parts, firing latents, density, explanations and score distributions.",
        discussion: """
        Reads the index and the annotation logs (not the records). Scores: the newest score per latent for each \
        scorer and model; "score" is balanced accuracy for detection and fuzz. --verify also checks every CRC \
        and every invariant between files (manifest counts against file sizes, part folders, value ranges).

        Example:
          featurescope cache-info sample-data/cache
        """)

    @Argument(help: "The latent cache folder.") var cache: String
    @Flag(help: "Also read and check every file and record (CRCs and cross-file invariants).") var verify = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() async throws {
        let c = try LatentCacheDirectory.open(cache)
        if verify { try c.verify() }
        let o = try CacheOverview(cache: c)
        if json { try printJSON(o); return }
        print("\(SafeText.sanitize(o.path)): format v\(o.formatVersion), \(o.tokens) tokens, \(o.parts.count) part(s), \(o.bytes) bytes"
              + (verify ? ", every CRC and invariant checked" : ""))
        for p in o.parts {
            let hook = p.hookOut.map { "\(p.hook) → writes \($0)" } ?? p.hook
            print("\n\(SafeText.sanitize(hook)) — \(p.latents) latents, \(p.firingLatents) fire in the cached corpus, \(p.bytes) bytes")
            if let d = p.density {
                print("  density per token: median \(Self.sci(d.median)), quartiles \(Self.sci(d.lowerQuartile)) – \(Self.sci(d.upperQuartile)), max \(Self.sci(d.max))")
            }
            print("  explained latents: \(p.explainedLatents)")
            for (k, n) in p.explanations.sorted(by: { $0.key < $1.key }) { print("    \(SafeText.sanitize(k)): \(n)") }
            for g in p.scores {
                print("  \(SafeText.sanitize(g.method)) · \(SafeText.sanitize(g.model)): \(g.latents) latents, \(g.samples) samples, \(g.mistakes) mistakes")
                if let s = g.score {
                    print(String(format: "    score: mean %.3f, median %.3f, quartiles %.3f – %.3f, range %.3f – %.3f",
                                 s.mean, s.median, s.lowerQuartile, s.upperQuartile, s.min, s.max))
                }
                if let a = g.auc { print(String(format: "    AUC: mean %.3f, median %.3f", a.mean, a.median)) }
                let q = g.meanAccuracyByQuantile.sorted { (Int($0.key) ?? 99) < (Int($1.key) ?? 99) }
                if !q.isEmpty {
                    print("    accuracy by quantile: " + q.map { String(format: "%@ %.2f", $0.key == "nonActivating" ? "non-act" : "q" + $0.key, $0.value) }.joined(separator: "  "))
                }
            }
        }
    }

    static func sci(_ v: Double) -> String { String(format: "%.2e", v) }
}
