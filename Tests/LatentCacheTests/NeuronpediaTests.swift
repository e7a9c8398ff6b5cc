import Foundation
import XCTest
@testable import LatentCache

/// `export neuronpedia` (SAEDashboard runner batches + explanation lines) and `import neuronpedia`
/// (API feature JSON, export lines, batches): the round trip, hand-checked fixtures written to the real
/// schemas (Tests/Fixtures/neuronpedia, docs/neuronpedia.md), and corrupt inputs.
final class NeuronpediaTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/neuronpedia").path
    let examples = ExampleConfiguration(windowLength: 16, quantiles: 4, perQuantile: 3, topCount: 5, randomCount: 4, histogramBins: 8, seed: 5)

    func fixture(_ name: String) throws -> String {
        let p = Self.fixtures + "/" + name
        XCTAssertTrue(FileManager.default.fileExists(atPath: p), "missing fixture \(p)")
        return p
    }

    /// A small cache with explanations and scores on a few latents.
    func makeCache(_ tmp: TempDir) throws -> LatentCacheDirectory {
        let corpus = DenseCorpus.random(rows: 6, rowLength: 32, latentCounts: [12], vocab: 40, seed: 9)
        let path = tmp.sub("cache")
        try corpus.build(at: path, examples: examples, vocabulary: (0 ..< 40).map { Array("tok\($0) é\"\\".utf8) })
        let cache = try LatentCacheDirectory.open(path)
        let part = cache.parts[0]
        let sample = AnnotationSample(strTokens: ["a", "b"], activations: [0, 1.5], distance: 0, activating: true,
                                      prediction: true, probability: 0.75, correct: true, shownText: "a <<b>>")
        try part.appendAnnotations([
            Annotation(kind: .explanation, latent: 2, method: "default", model: "m1", endpoint: "embedded", date: "2026-01-01T00:00:00Z", text: "first idea"),
            Annotation(kind: .explanation, latent: 2, method: "default", model: "m2", date: "2026-01-02T00:00:00Z", text: "second idea"),
            Annotation(kind: .score, latent: 2, method: "detection", model: "m2", date: "2026-01-03T00:00:00Z", explanation: "second idea",
                       samples: [sample], metrics: ScoreMetrics(score: 0.625, truePositives: 3, trueNegatives: 2, falsePositives: 1, falseNegatives: 2,
                                                                values: ["auc": 0.7])),
            Annotation(kind: .score, latent: 3, method: "fuzz", model: "m3", date: "2026-01-04T00:00:00Z", explanation: "an explanation the cache lacks",
                       metrics: ScoreMetrics(score: 0.5)),
        ])
        return try LatentCacheDirectory.open(path)
    }

    struct Window: Hashable { var tokens: [String]; var values: [Float] }

    func testRoundTripKeepsActivationsExplanationsAndScores() throws {
        let tmp = TempDir()
        let cache = try makeCache(tmp)
        let part = cache.parts[0]
        let out = tmp.sub("np")
        var lensCalls = 0
        let options = NeuronpediaExportOptions(modelID: "test-model", featuresPerBatch: 5, logitLens: { p, latents in
            lensCalls += 1
            XCTAssertEqual(p, 0)
            return latents.map { NeuronpediaLogits(positive: [("up\($0)", Float($0))], negative: [("down\($0)", -Float($0))]) }
        })
        let report = try NeuronpediaExport.run(cache: cache, output: out, options: options)
        XCTAssertEqual(report.folders, ["test-model_featurescope-hook-resid-post_blocks.0.hook_resid_post_12"])
        let dir = out + "/" + report.folders[0]
        XCTAssertEqual(report.skipped, 1, "latent 0 never fires")
        XCTAssertEqual(report.features, 11)
        XCTAssertEqual(report.batches, 3)
        XCTAssertEqual(lensCalls, 3, "one logit lens call per batch")
        XCTAssertEqual(report.explanations, 2)
        XCTAssertEqual(report.scores, 2)

        // The batch files follow NeuronpediaDashboardBatch.to_dict (every key, numbered per folder).
        let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/batch-0.json"))) as! [String: Any]
        XCTAssertEqual(Set(raw.keys), ["model_id", "layer", "sae_set", "sae_id_suffix", "features"])
        XCTAssertEqual(raw["layer"] as? Int, 0)
        XCTAssertEqual(raw["sae_set"] as? String, "featurescope-hook-resid-post")
        XCTAssertTrue(raw["sae_id_suffix"] is NSNull)
        let f0 = (raw["features"] as! [[String: Any]])[0]
        XCTAssertEqual(Set(f0.keys), ["feature_index", "neuron_alignment_indices", "neuron_alignment_values", "neuron_alignment_l1",
                                      "correlated_neurons_indices", "correlated_neurons_l1", "correlated_neurons_pearson",
                                      "correlated_features_indices", "correlated_features_l1", "correlated_features_pearson",
                                      "neg_str", "neg_values", "pos_str", "pos_values", "frac_nonzero", "freq_hist_data_bar_values",
                                      "freq_hist_data_bar_heights", "logits_hist_data_bar_heights", "logits_hist_data_bar_values",
                                      "n_prompts_total", "n_tokens_in_prompt", "dataset", "decoder_weights_dist", "activations", "vector"])
        XCTAssertEqual(Set((f0["activations"] as! [[String: Any]])[0].keys),
                       ["bin_min", "bin_max", "bin_contains", "tokens", "values", "qualifying_token_index"])
        XCTAssertEqual(f0["pos_str"] as? [String], ["up1"])
        for name in ["batch-1.json", "batch-2.json", "skipped_indexes.json", "run_settings.json", "explanations/batch-0.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + name), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/batch-3.json"))
        let skipped = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/skipped_indexes.json"))) as! [String: Any]
        XCTAssertEqual(skipped["skipped_indexes"] as? [Int], [0])

        // Per latent: the exported examples are the cache's top and quantile windows, and the statistics.
        var exported: [Int: [Window]] = [:]
        for b in 0 ..< 3 {
            let batch = try JSONDecoder().decode(NeuronpediaBatch.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/batch-\(b).json")))
            for f in batch.features {
                exported[f.featureIndex] = f.activations.map { Window(tokens: $0.tokens, values: $0.values) }
                let s = try part.summary(f.featureIndex), r = try part.record(f.featureIndex)
                XCTAssertEqual(f.fracNonzero, s.densityPerToken)
                XCTAssertEqual(f.freqHistDataBarHeights, r.histogram.counts)
                let original = (r.top + r.quantiles.flatMap(\.windows)).map { Window(tokens: part.tokenStrings($0), values: $0.activations) }
                XCTAssertEqual(exported[f.featureIndex], original, "latent \(f.featureIndex)")
                for a in f.activations { XCTAssertEqual(a.values[a.qualifyingTokenIndex], a.values.max()) }
                XCTAssertEqual(f.activations.first?.binMax, s.maxActivation)
                XCTAssertEqual(f.posStr, ["up\(f.featureIndex)"])
            }
        }
        XCTAssertEqual(exported.count, 11)

        // Import: every exported example is one activating window, values exact (f16 → JSON → f16).
        let back = tmp.sub("back")
        let ir = try NeuronpediaImport.run([out], output: back, options: NeuronpediaImportOptions(examples: examples))
        XCTAssertEqual(ir.parts, ["0-featurescope-hook-resid-post"])
        XCTAssertEqual(ir.windowLength, 16)
        XCTAssertEqual(ir.examples, exported.values.reduce(0) { $0 + $1.count })
        let imported = try LatentCacheDirectory.open(back)
        let ip = imported.parts[0]
        XCTAssertEqual(ip.hook, "blocks.0.hook_resid_post", "run_settings.json carries the hook")
        XCTAssertEqual(ip.latentCount, 12)
        for (latent, windows) in exported {
            let got = try XCTUnwrap(try ip.allActivatingWindows(latent)).map { Window(tokens: ip.tokenStrings($0), values: $0.activations) }
            XCTAssertEqual(got.sorted { "\($0)" < "\($1)" }, windows.sorted { "\($0)" < "\($1)" }, "latent \(latent)")
        }
        // Explanations and scores come back: text, method, model, date; scores exactly.
        let before = try part.annotations(2) + part.annotations(3)
        let after = try ip.annotations(2) + ip.annotations(3)
        XCTAssertEqual(after.filter { $0.kind == .score }, before.filter { $0.kind == .score })
        let ex = { (a: [Annotation]) in a.filter { $0.kind == .explanation }.map { [$0.text, $0.method, $0.model, $0.date] } }
        XCTAssertEqual(ex(after), ex(before))
        XCTAssertEqual(try ip.summary(2).bestDetection, 0.625)
    }

    func testImportsAPIFeatureExplanationLinesAndABatch() throws {
        let tmp = TempDir()
        let dir = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["feature-api.json", "explanations.jsonl", "batch-0.json"] {
            try FileManager.default.copyItem(atPath: try fixture(f), toPath: dir + "/" + f)
        }
        let out = tmp.sub("cache")
        let r = try NeuronpediaImport.run([dir], output: out, options: NeuronpediaImportOptions(examples: examples))
        XCTAssertEqual(r.parts, ["6-res-jb"], "the API's layer id and the batch's layer + sae_set name one source")
        XCTAssertEqual(r.examples, 4)
        XCTAssertEqual(r.activations, 7, "nonzero values: 3 + 2 + 1 + 1")
        XCTAssertEqual(r.windowLength, 7)
        XCTAssertEqual(r.explanations, 3)
        XCTAssertEqual(r.scores, 1)
        XCTAssertEqual(r.filesRead, 3)
        let cache = try LatentCacheDirectory.open(out)
        XCTAssertEqual(cache.manifest.metadata.model, "gpt2-small")
        let p = cache.parts[0]
        XCTAssertEqual(p.hook, "blocks.6.hook_resid_pre")
        XCTAssertEqual(p.latentCount, 1235)
        let w = try XCTUnwrap(try p.allActivatingWindows(1234))
        XCTAssertEqual(w.count, 2)
        let paris = try XCTUnwrap(w.first { p.tokenStrings($0).contains(" Paris") })
        XCTAssertEqual(p.tokenStrings(paris), ["<|endoftext|>", " The", " capital", " of", " France", " is", " Paris"])
        XCTAssertEqual(paris.activations, [0, 0, 0.5, 0, 3.25, 0, 7.25])
        let berlin = try XCTUnwrap(w.first { p.tokenStrings($0).contains(" Berlin") })
        XCTAssertEqual(p.tokenStrings(berlin), [" in", " Berlin", " and", "", "", "", ""], "padded with empty strings")
        XCTAssertEqual(berlin.activations, [0, 1.5, 0.125, 0, 0, 0, 0])
        XCTAssertEqual(try p.summary(1234).maxActivation, 7.25)
        let a1234 = try p.annotations(1234)
        XCTAssertEqual(a1234.filter { $0.kind == .explanation }.compactMap(\.text).sorted(),
                       ["capital cities of European countries", "names of capitals"])
        let score = try XCTUnwrap(a1234.first { $0.kind == .score })
        XCTAssertEqual(score.method, "eleuther_fuzz")
        XCTAssertEqual(score.model, "gpt-4o-mini")
        XCTAssertEqual(score.metrics?.score, 0.82)
        XCTAssertEqual(score.explanation, "capital cities of European countries")
        let first = try XCTUnwrap(a1234.first { $0.text == "capital cities of European countries" })
        XCTAssertEqual(first.method, "oai_token-act-pair"); XCTAssertEqual(first.model, "gpt-4o-mini")
        XCTAssertEqual(first.date, "2024-07-01T12:00:00.000Z")
        XCTAssertEqual(try p.annotations(7).compactMap(\.text), ["the word \"of\" after a noun"])
        let w7 = try XCTUnwrap(try p.allActivatingWindows(7))
        XCTAssertEqual(Set(w7.map { p.tokenStrings($0).filter { !$0.isEmpty } }), [[" end", " of", " the"], [" out", " of"]])
    }

    func testCorruptInputsGiveClearErrors() throws {
        let tmp = TempDir()
        func write(_ name: String, _ text: String) throws -> String {
            let p = tmp.sub(name)
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            return p
        }
        func reason(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> String {
            do {
                _ = try NeuronpediaImport.run([path], output: tmp.sub("out-\(UUID().uuidString)"), options: NeuronpediaImportOptions())
                XCTFail("no error", file: file, line: line); return ""
            } catch { return "\(error)" }
        }
        let mismatch = try write("m.json", #"{"index": "3", "layer": "1-x", "activations": [{"tokens": ["a", "b"], "values": [1]}]}"#)
        XCTAssertTrue(reason(mismatch).contains("2 tokens but 1 values"), reason(mismatch))
        XCTAssertTrue(reason(mismatch).contains("m.json"))
        let notJSON = try write("n.json", "{not json")
        XCTAssertTrue(reason(notJSON).contains("not valid JSON"), reason(notJSON))
        let badLine = try write("l.jsonl", "{\"index\": 1, \"tokens\": [\"a\"], \"values\": [1]}\n{oops\n")
        XCTAssertTrue(reason(badLine).contains("line 2"), reason(badLine))
        let noIndex = try write("i.json", #"[{"tokens": ["a"], "values": [1]}]"#)
        XCTAssertTrue(reason(noIndex).contains("'index'"), reason(noIndex))
        let badType = try write("t.json", #"{"index": "1", "description": 5}"#)
        XCTAssertTrue(reason(badType).contains("description"), reason(badType))
        let badIndex = try write("x.json", #"{"index": "abc", "activations": []}"#)
        XCTAssertTrue(reason(badIndex).contains("abc"), reason(badIndex))
        let negative = try write("neg.json", #"{"index": -4, "activations": [{"tokens": ["a"], "values": [1]}]}"#)
        XCTAssertTrue(reason(negative).contains("-4"), reason(negative))
        let gz = try write("f.jsonl.gz", "\u{1f}")
        XCTAssertTrue(reason(gz).contains("gunzip"), reason(gz))
        let onlyExplanations = try write("e.jsonl", #"{"index": "1", "layer": "1-x", "description": "d"}"#)
        XCTAssertTrue(reason(onlyExplanations).contains("no activation examples"), reason(onlyExplanations))
        let batchNoIndex = try write("b.json", #"{"model_id": "m", "layer": 1, "sae_set": "s", "features": [{"activations": []}]}"#)
        XCTAssertTrue(reason(batchNoIndex).contains("feature_index"), reason(batchNoIndex))
        XCTAssertTrue(reason(tmp.sub("missing")).contains("no such file"))
    }

    func testLongExamplesAreCutAroundTheirMaximum() throws {
        let tmp = TempDir()
        var values = [Float](repeating: 0, count: 300)
        values[280] = 2
        let tokens = (0 ..< 300).map { "t\($0)" }
        let obj: [String: Any] = ["index": "0", "layer": "0-x", "activations": [["tokens": tokens, "values": values]]]
        let p = tmp.sub("long.json")
        try JSONSerialization.data(withJSONObject: obj).write(to: URL(fileURLWithPath: p))
        let r = try NeuronpediaImport.run([p], output: tmp.sub("c"), options: NeuronpediaImportOptions())
        XCTAssertEqual(r.windowLength, 255)
        XCTAssertTrue(r.notes.contains { $0.contains("cut") })
        let c = try LatentCacheDirectory.open(tmp.sub("c"))
        let w = try XCTUnwrap(try c.parts[0].allActivatingWindows(0)).first!
        XCTAssertEqual(c.parts[0].tokenStrings(w).last, "t299")
        XCTAssertEqual(w.activations[280 - 45], 2)
    }
}
