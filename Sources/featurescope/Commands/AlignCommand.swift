import ArgumentParser
import FeaturescopeCore
import Foundation
import LatentCache
import LatentGeometry
import SparseAutoencoders

/// `featurescope align A B [--by decoder|activations] [--cache CACHE] [--json]`
struct AlignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "align",
        abstract: "Match the latents of two SAEs one-to-one (linear assignment on decoder cosine or activation correlation).",
        discussion: """
        --by decoder: A and B are SAE folders (or, with --cache, part names or numbers of that cache whose SAE \
        folders the manifest names) trained on the same hook; pairs are scored by the cosine of their decoder rows. \
        --by activations: A and B are parts of --cache (e.g. two layers); pairs are scored by the Pearson \
        correlation of their activations over the cache's tokens (every activation when the cache keeps them, else \
        only each latent's stored windows: an estimate). The default is decoder when both sides have the same hook, \
        else activations.

        Candidates: each latent's top --candidates partners in both directions (for more than 16,384 latents found in \
        a 64-dimensional random projection (--projection), then re-scored exactly; --exact searches the full space). The matching \
        is an exact maximum-similarity assignment on that candidate graph (dense Hungarian up to 1,500 latents); \
        latents whose candidates are all taken or below --min-similarity are reported unmatched.

        Examples:
          featurescope align saes/run1 saes/run2
          featurescope align --cache sample-data/cache blocks.3.attn.hook_z blocks.12.attn.hook_z --json
        """)

    enum Measure: String, ExpressibleByArgument, CaseIterable { case decoder, activations }

    @Argument(help: "The first SAE folder, or a part name/number of --cache.") var a: String
    @Argument(help: "The second SAE folder, or a part name/number of --cache.") var b: String
    @Option(help: "How to score pairs: decoder or activations (default: decoder when both share a hook).") var by: Measure?
    @Option(help: "A latent cache whose parts A and B name.") var cache: String?
    @Option(help: "Candidate partners per latent and direction.") var candidates = 16
    @Option(name: .customLong("min-similarity"), help: "Never match a pair below this similarity.") var minSimilarity: Float = 0
    @Flag(help: "Search decoder candidates exactly, never in a projection.") var exact = false
    @Option(help: "Search decoder candidates in a random projection of this many dimensions (default: 64 above 16,384 latents).")
    var projection: Int?
    @Option(help: "Pairs to list (strongest first) in the text output.") var show = 10
    @Option(help: "Also write the full result as JSON to this file.") var output: String?
    @Flag(help: "Print the full result as JSON.") var json = false

    func validate() throws {
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
        if let p = projection { guard p >= 2 else { throw ValidationError("--projection must be at least 2") } }
        guard minSimilarity.isFinite, minSimilarity > -1, minSimilarity <= 1 else { throw ValidationError("--min-similarity must be in (-1, 1]") }
    }

    func run() async throws {
        let dir = try cache.map { try LatentCacheDirectory.open($0) }
        let parts = try [a, b].map { name in try dir.map { try Self.part($0, name) } }
        // Without a cache A and B are SAE folders, compared by decoder; with one, the parts' hooks decide.
        let measure = by ?? (parts[0] == nil || parts[0]?.hook == parts[1]?.hook ? .decoder : .activations)
        var options = AlignmentOptions(candidates: candidates, minimumSimilarity: minSimilarity)
        if exact { options.projection = .some(nil) } else if let projection { options.projection = .some(projection) }
        let bar = ProgressBar(total: 1000, label: "align", enabled: !json)
        let report: @Sendable (String, Double) -> Void = { stage, f in bar.update(Int(f * 1000), extra: stage) }
        let result: AlignmentResult
        switch measure {
        case .decoder:
            let saes = try zip([a, b], parts).map { name, part in
                try SparseAutoencoder.load(folder: part.map { try Self.saeFolder(dir!, $0) } ?? name, options: SAELoadOptions(computeDigest: false))
            }
            let h0 = saes[0].config.metadata.hookName, h1 = saes[1].config.metadata.hookName
            guard h0 == h1 else {
                throw ValidationError("A's SAE reads \(SafeText.sanitize(h0)) and B's \(SafeText.sanitize(h1)): decoder directions of different hooks are not comparable; use --by activations with a cache holding both")
            }
            guard saes[0].dIn == saes[1].dIn else {
                throw ValidationError("A has d_in \(saes[0].dIn) and B \(saes[1].dIn): decoder directions live in different spaces")
            }
            result = try LatentAlignment.byDecoder(a: saes[0].decoderWeight, b: saes[1].decoderWeight, dim: saes[0].dIn, options: options, progress: report)
        case .activations:
            guard let pa = parts[0], let pb = parts[1] else { throw ValidationError("--by activations needs --cache and two of its parts") }
            let sa = try SparseActivations.load(part: pa), sb = try SparseActivations.load(part: pb)
            result = try LatentAlignment.byActivations(a: sa, b: sb, options: options, progress: report)
        }
        bar.finish()
        if let output { try AtomicFile.writeJSON(result, to: output) }
        if json { try printJSON(result); return }
        print(Self.describe(result, parts: parts, show: show))
    }

    /// A part by name or number.
    static func part(_ c: LatentCacheDirectory, _ name: String) throws -> LatentCachePart {
        if let p = try? c.part(named: name) { return p }
        if let i = Int(name), c.parts.indices.contains(i) { return c.parts[i] }
        throw ValidationError("\(SafeText.sanitize(c.path)) has no part \(SafeText.sanitize(name)) (parts: \(c.parts.map { SafeText.sanitize($0.name) }.joined(separator: ", ")))")
    }

    /// The SAE folder the manifest names for a part (`SAELocation`).
    static func saeFolder(_ c: LatentCacheDirectory, _ p: LatentCachePart) throws -> String {
        try c.saeLocation(of: p)
    }

    static func describe(_ r: AlignmentResult, parts: [LatentCachePart?], show: Int) -> String {
        let s = r.summary
        var out = "\(s.measure): \(s.matched) of \(s.latentsA) A latents matched to \(s.latentsB) B latents "
            + "(\(s.unmatchedA) A and \(s.unmatchedB) B unmatched; \(s.solver) solver on \(s.candidateEdges) candidate pairs"
            + (s.projection.map { ", candidates found in a \($0)-d projection" } ?? "") + ")\n"
        if let src = s.activationSource { out += "activations: \(src)\n" }
        if let mean = s.meanSimilarity, let med = s.medianSimilarity { out += String(format: "similarity of matched pairs: mean %.3f, median %.3f\n", mean, med) }
        out += "pairs at or above: " + LatentAlignment.thresholds.map { t in
            let key = String(format: "%.1f", t)
            return "\(key): \(s.pairsAbove[key] ?? 0)"
        }.joined(separator: "  ") + "\n"
        out += String(format: "time: candidates %.2f s, matching %.2f s\n", s.searchSeconds, s.solveSeconds)
        if show > 0 {
            out += "\nstrongest pairs:\n"
            for m in r.matches.sorted(by: { $0.similarity > $1.similarity }).prefix(show) {
                out += String(format: "  A %6d  B %6d  %.3f", m.a, m.b, m.similarity)
                if let pa = parts[0], let pb = parts[1] {
                    let ea = (try? pa.summary(m.a).explanationPreview) ?? nil, eb = (try? pb.summary(m.b).explanationPreview) ?? nil
                    out += "   " + SafeText.sanitize(String((ea ?? "—").prefix(40))) + "  ↔  " + SafeText.sanitize(String((eb ?? "—").prefix(40)))
                }
                out += "\n"
            }
        }
        return out
    }
}
