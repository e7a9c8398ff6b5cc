import Foundation
import TensorFormats
import TestSupport
import XCTest
@testable import LatentCache

/// delphi round trip (issue 17) and untrusted sizes / drop reports of the importer (issue 16, D1, D2, D14).
/// Golden files in Tests/Fixtures/delphi were written by delphi's and torch's own code
/// (scripts/delphi-check/make-fixtures.py).
final class DelphiRoundTripTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 4, perQuantile: 2, topCount: 5, randomCount: 4, histogramBins: 8, seed: 3)
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/delphi").path
    let qwen = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"

    func fixture(_ name: String) throws -> Data {
        let path = Self.fixtures + "/" + name
        return try XCTUnwrap(FileManager.default.contents(atPath: path), "missing golden file \(path)")
    }

    /// The fixture run with delphi's run_config.json beside it.
    func run(_ tmp: TempDir, config: Data? = nil) throws -> (DelphiFixture, String) {
        let fx = DelphiFixture.make(locationType: .u16)
        let run = tmp.sub("run")
        try fx.write(to: run)
        try (config ?? fixture("run_config.json")).write(to: URL(fileURLWithPath: run + "/run_config.json"))
        return (fx, run)
    }

    func reason(_ body: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { _ = try body(); XCTFail("no error", file: file, line: line); return "" } catch {
            guard case CacheError.invalidDelphiRun(let path, let reason) = error else { XCTFail("\(error)", file: file, line: line); return "" }
            return path + ": " + reason
        }
    }

    // MARK: D1, D2: sizes from untrusted files are bounded before anything is allocated

    func testSplitFileNamesClaimingHugeWidthsAreClearErrors() throws {
        for name in ["6_2147483646", "6_100000000"] {
            let tmp = TempDir()
            let (_, run) = try self.run(tmp)
            try FileManager.default.moveItem(atPath: run + "/latents/layers.3/6_11.safetensors", toPath: run + "/latents/layers.3/\(name).safetensors")
            let r = reason(try DelphiImport.run(run, output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples)))
            XCTAssertTrue(r.contains("\(name).safetensors") && r.contains("at most \(DelphiImport.maxLatents) latents"), r)
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("cache")))
        }
    }

    func testHugeTokenIDWithoutModelNameIsAClearError() throws {
        let tmp = TempDir()
        let dir = tmp.sub("run/latents/layers.0")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("{\"cache_ctx_len\": 32}".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))   // no model_name
        var w = SafetensorsWriter()
        try w.add("locations", integers: [0, 0, 0], shape: [1, 3], dtype: .U16)
        try w.add("activations", floats: [1], shape: [1], dtype: .F16)
        try w.add("tokens", integers: [4_000_000_000] + [Int64](repeating: 1, count: 31), shape: [1, 32], dtype: .I64)
        try w.write(to: dir + "/0_0.safetensors")
        let r = reason(try DelphiImport.run(tmp.sub("run"), output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples)))
        XCTAssertTrue(r.contains("token id 4000000000") && r.contains("--model"), r)
    }

    // MARK: D14: what the importer drops or merges is counted

    func testDroppedAndMergedActivationsAndSkippedFilesAreReported() throws {
        let tmp = TempDir()
        let run = tmp.sub("run")
        let dir = run + "/latents/l"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // (row, position, latent − start) and values: zero, negative, NaN, +∞, an adjacent duplicate and an
        // out-of-order duplicate.
        let entries: [(Int64, Int64, Int64, Float)] = [
            (0, 0, 0, 1), (0, 1, 0, 0), (0, 2, 0, -1), (0, 3, 0, .nan), (0, 4, 0, .infinity),
            (0, 5, 0, 2), (0, 5, 0, 3), (1, 0, 1, 0.5), (0, 6, 0, 1.5), (1, 0, 1, 0.25),
        ]
        var w = SafetensorsWriter()
        try w.add("locations", integers: entries.flatMap { [$0.0, $0.1, $0.2] }, shape: [entries.count, 3], dtype: .U16)
        try w.add("activations", floats: entries.map(\.3), shape: [entries.count], dtype: .F16)
        try w.add("tokens", integers: (0 ..< 64).map { Int64($0 % 7) }, shape: [2, 32], dtype: .I32)
        try w.write(to: dir + "/0_1.safetensors")
        try FileManager.default.createDirectory(atPath: run + "/explanations", withIntermediateDirectories: true)
        for name in ["l_latent1", "l_latent9", "other_latent0"] {
            try Data("\"text\"".utf8).write(to: URL(fileURLWithPath: run + "/explanations/\(name).txt"))
        }
        let report = try DelphiImport.run(run, output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples))
        XCTAssertEqual(report.droppedActivations, ["zero": 1, "negative": 1, "not a number": 1, "infinite": 1])
        XCTAssertEqual(report.mergedDuplicates, 2)
        XCTAssertEqual(report.activations, 4)
        XCTAssertEqual(report.explanations, 1)
        XCTAssertEqual(report.skippedFiles, ["latent number beyond the hookpoint's 2 latents": 1,
                                             "name matches no hookpoint's <hookpoint>_latent<i>.txt": 1])
        XCTAssertTrue(report.notes.contains("4 activation(s) dropped: 1 infinite, 1 negative, 1 not a number, 1 zero"), "\(report.notes)")
        XCTAssertTrue(report.notes.contains { $0.hasPrefix("2 duplicate activation(s)") }, "\(report.notes)")
        let cache = try LatentCacheDirectory.open(tmp.sub("cache"))
        let s0 = try cache.parts[0].statistics(0), s1 = try cache.parts[0].statistics(1)
        XCTAssertEqual([s0.firingCount, s1.firingCount], [3, 1])
        XCTAssertEqual([s0.maxActivation, s1.maxActivation], [3, 0.5], "duplicates keep the largest value")
    }

    // MARK: run_config.json: credit and sampling defaults

    func testRunConfigCreditsItsExplainerAndRecordsItsSampling() throws {
        let tmp = TempDir()
        let (fx, run) = try self.run(tmp)
        let report = try DelphiImport.run(run, output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples))
        XCTAssertEqual(report.explainerModel, qwen)
        let cache = try LatentCacheDirectory.open(tmp.sub("cache"))
        var models = Set<String>()
        for part in cache.parts { for l in 0 ..< part.latentCount { for a in try part.annotations(l) { models.insert(a.model) } } }
        XCTAssertEqual(models, [qwen])
        // Sampling: the run's values become the cache's defaults; window and quantiles cut the cache.
        let d = CacheSamplingDefaults.recorded(inCacheAt: tmp.sub("cache"))
        XCTAssertEqual([d.windowLength, d.quantiles, d.trainExamples, d.testExamples, d.nonActivating, d.minExamples], [16, 4, 24, 12, 7, 3])
        XCTAssertEqual(d.seed, 7)
        XCTAssertEqual([d.trainPerQuantile, d.testPerQuantile], [6, 3])
        XCTAssertEqual(cache.manifest.examples.windowLength, 16)
        XCTAssertEqual(cache.manifest.examples.quantiles, 4)

        // Per-quantile accuracy of imported scores, as cache-info shows it.
        let group = try XCTUnwrap(try CacheOverview(cache: cache).parts[0].scores.first { $0.method == "detection" })
        XCTAssertEqual(group.model, qwen)
        var expected: [String: [Double]] = [:]
        for l in fx.scoredLatents["layers.3"] ?? [] {
            var perQ: [Int: (Int, Int)] = [:]
            for s in fx.scoreSamples(hookpoint: "layers.3", latent: l, scorer: "detection") where s["activating"] as? Bool == true {
                guard let p = s["prediction"] as? Bool else { continue }
                let q = s["distance"] as! Int
                perQ[q, default: (0, 0)].1 += 1
                if p { perQ[q, default: (0, 0)].0 += 1 }
            }
            for (q, c) in perQ { expected[String(q), default: []].append(Double(c.0) / Double(c.1)) }
        }
        XCTAssertFalse(expected.isEmpty)
        XCTAssertEqual(group.meanAccuracyByQuantile, expected.mapValues { $0.reduce(0, +) / Double($0.count) })

        // An explicit window wins over the run's; a per-scorer model in the run is credited to that scorer.
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: fixture("run_config.json")) as? [String: Any])
        json["featurescope"] = ["scorer_models": ["fuzz": "fuzz-model"]]
        json["hookpoints"] = ["layers.5/mlp", "layers.3"]
        let tmp2 = TempDir()
        let (_, run2) = try self.run(tmp2, config: try JSONSerialization.data(withJSONObject: json))
        var options = DelphiImportOptions(examples: examples)
        options.windowFromRun = false
        _ = try DelphiImport.run(run2, output: tmp2.sub("cache"), options: options)
        let c2 = try LatentCacheDirectory.open(tmp2.sub("cache"))
        XCTAssertEqual(c2.manifest.examples.windowLength, 32)
        XCTAssertEqual(c2.parts.map(\.name), ["layers.5/mlp", "layers.3"], "parts in the run's hookpoint order")
        let a = try c2.parts[1].annotations(2)
        XCTAssertEqual(Set(a.filter { $0.method == "fuzz" }.map(\.model)), ["fuzz-model"])
        XCTAssertEqual(Set(a.filter { $0.method != "fuzz" }.map(\.model)), [qwen])
    }

    /// Scores imported before imports recorded per-quantile figures: cache-info computes them from the samples.
    func testOverviewComputesPerQuantileAccuracyOfOlderImports() throws {
        let tmp = TempDir()
        let (fx, run) = try self.run(tmp)
        let cache = try LatentCacheDirectory.open(DelphiImport.run(run, output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples)).cache)
        var expected: [String: [Double]] = [:]
        var old: [Annotation] = []
        for l in fx.scoredLatents["layers.3"] ?? [] {
            let a = try XCTUnwrap(try cache.parts[0].annotations(l).first { $0.method == "detection" })
            let samples = try XCTUnwrap(a.samples)
            old.append(Annotation(kind: .score, latent: l, method: "detection", model: "older import", samples: samples,
                                  metrics: ScoreMetrics.balancedAccuracy(of: samples)))
            var perQ: [Int: (correct: Int, total: Int)] = [:]
            for s in samples where s.activating {
                guard let p = s.prediction else { continue }
                perQ[Int(s.distance), default: (0, 0)].total += 1
                if p { perQ[Int(s.distance), default: (0, 0)].correct += 1 }
            }
            for (q, c) in perQ { expected[String(q), default: []].append(Double(c.correct) / Double(c.total)) }
        }
        try cache.parts[0].appendAnnotations(old)
        let group = try XCTUnwrap(try CacheOverview(cache: cache).parts[0].scores.first { $0.model == "older import" })
        XCTAssertFalse(expected.isEmpty)
        XCTAssertEqual(group.meanAccuracyByQuantile, expected.mapValues { $0.reduce(0, +) / Double($0.count) })
    }

    /// `import annotations`: credited to --model, else to the run's run_config.json.
    func testAppendedAnnotationsAreCreditedLikeAnImport() throws {
        let tmp = TempDir()
        let (_, run) = try self.run(tmp)
        try FileManager.default.copyItem(atPath: run, toPath: tmp.sub("bare"))
        for sub in ["explanations", "scores", "run_config.json"] { try FileManager.default.removeItem(atPath: tmp.sub("bare/" + sub)) }
        for (name, model, expected) in [("a", nil, qwen), ("b", "given-model", "given-model")] {
            let cache = try LatentCacheDirectory.open(DelphiImport.run(tmp.sub("bare"), output: tmp.sub(name), options: DelphiImportOptions(examples: examples)).cache)
            let (e, s) = try DelphiImport.importAnnotations(run: run, into: cache, model: model)
            XCTAssertEqual(e, 4)
            XCTAssertEqual(s, ["detection": 3, "fuzz": 3, "simulation": 1])
            XCTAssertEqual(Set(try cache.parts[0].annotations(2).map(\.model)), [expected])
        }
    }

    /// The model (for display strings) from config.json's model_name, else run_config.json's model.
    func testModelNameFallsBackToTheRunConfig() throws {
        let tmp = TempDir()
        let (_, run) = try self.run(tmp)
        for h in ["layers.3", "layers.5/mlp"] {
            let path = run + "/latents/\(h)/config.json"
            var c = try XCTUnwrap(JSONSerialization.jsonObject(with: try XCTUnwrap(FileManager.default.contents(atPath: path))) as? [String: Any])
            c["model_name"] = nil
            try JSONSerialization.data(withJSONObject: c).write(to: URL(fileURLWithPath: path))
        }
        XCTAssertEqual(DelphiImport.modelName(run: run), "HuggingFaceTB/SmolLM2-135M-Instruct")
        try FileManager.default.removeItem(atPath: run + "/run_config.json")
        XCTAssertNil(DelphiImport.modelName(run: run))
    }

    func testRunConfigWithAWrongTypeIsAClearError() throws {
        let tmp = TempDir()
        let (_, run) = try self.run(tmp, config: Data("{\"sampler_cfg\": {\"n_quantiles\": \"ten\"}}".utf8))
        let r = reason(try DelphiImport.run(run, output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples)))
        XCTAssertTrue(r.contains("run_config.json") && r.contains("sampler_cfg.n_quantiles"), r)
        let tmp2 = TempDir()
        let (_, run2) = try self.run(tmp2, config: Data("{\"constructor_cfg\": {\"example_ctx_len\": 5000}}".utf8))
        let r2 = reason(try DelphiImport.run(run2, output: tmp2.sub("cache"), options: DelphiImportOptions(examples: examples)))
        XCTAssertTrue(r2.contains("run_config.json") && r2.contains("example_ctx_len") && r2.contains("5000"), r2)
    }
}
