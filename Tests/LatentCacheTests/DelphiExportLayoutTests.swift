import Foundation
import TensorFormats
import TestSupport
import XCTest
@testable import LatentCache

/// `featurescope export delphi` in delphi's exact layout (issue 17): score records with every key, run_config.json,
/// log/hookpoint_firing_counts.pt in torch.save's format, I32 tokens; and the export → import round trip.
final class DelphiExportLayoutTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 4, perQuantile: 2, topCount: 5, randomCount: 4, histogramBins: 8, seed: 3)
    let qwen = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"

    func golden(_ name: String) throws -> Data {
        let path = DelphiRoundTripTests.fixtures + "/" + name
        return try XCTUnwrap(FileManager.default.contents(atPath: path), "missing golden file \(path)")
    }

    /// Top-level keys of an indented JSON object, in file order.
    func topLevelKeys(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("    \""), !line.hasPrefix("     ") else { return nil }
            return line.dropFirst(5).split(separator: "\"").first.map(String.init)
        }
    }

    func testTorchSaveIsReadLikeTorchsOwnFile() throws {
        // The test reader agrees with torch's own file…
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: golden("torch_firing_counts.json")) as? [String: [Int]])
        let theirs = try TorchArchiveReader.int64Dictionary([UInt8](golden("torch_firing_counts.pt")))
        XCTAssertEqual(theirs.map(\.0), ["layers.3", "layers.5/mlp"])
        for (name, values) in theirs { XCTAssertEqual(values.map(Int.init), expected[name]) }
        // …and reads ours, written from the same values, the same way.
        let ours = try TorchSave.int64Dictionary(theirs.map { (name: $0.0, values: $0.1) }, archiveName: "torch_firing_counts")
        let back = try TorchArchiveReader.int64Dictionary([UInt8](ours))
        XCTAssertEqual(back.map(\.0), theirs.map(\.0))
        XCTAssertEqual(back.map(\.1), theirs.map(\.1))
        let entries = try TorchArchiveReader.entries([UInt8](ours))
        XCTAssertEqual(Set(entries.keys), ["torch_firing_counts/data.pkl", "torch_firing_counts/byteorder", "torch_firing_counts/version",
                                           "torch_firing_counts/data/0", "torch_firing_counts/data/1"])
        XCTAssertEqual(entries["torch_firing_counts/byteorder"], Array("little".utf8))
    }

    func testExportWritesDelphisLayoutAndImportsBackWithTheSameCredit() throws {
        let tmp = TempDir()
        let fx = DelphiFixture.make(locationType: .u32)
        try fx.write(to: tmp.sub("run"))
        try golden("run_config.json").write(to: URL(fileURLWithPath: tmp.sub("run/run_config.json")))
        let cache = try LatentCacheDirectory.open(DelphiImport.run(tmp.sub("run"), output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples)).cache)
        _ = try DelphiExport.run(cache: cache, output: tmp.sub("out"), splits: 2)
        let out = tmp.sub("out")

        // Score records: every key of delphi's ClassifierOutput, in its order, nulls written.
        let text = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: out + "/scores/detection/layers.5--mlp_latent4.txt")), as: UTF8.self)
        let records = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        let keys = ["str_tokens", "activations", "distance", "activating", "prediction", "probability", "correct"]
        XCTAssertEqual(records.count, fx.scoreSamples(hookpoint: "layers.5/mlp", latent: 4, scorer: "detection").count)
        for r in records { XCTAssertEqual(Set(r.keys), Set(keys)) }
        XCTAssertTrue(records.contains { $0["probability"] is NSNull && $0["prediction"] is NSNull && $0["correct"] is NSNull })
        XCTAssertTrue(text.hasPrefix("[{\"str_tokens\":["), text)
        XCTAssertTrue(text.contains(",\"prediction\":null,\"probability\":null,\"correct\":null}"), text)

        // Tokens as delphi writes them.
        XCTAssertEqual(try SafetensorsFile(path: out + "/latents/layers.3/0_5.safetensors").info("tokens").dtype, .I32)

        // run_config.json: delphi's keys in delphi's order, what the cache knows set over the imported run's.
        let configText = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: out + "/run_config.json")), as: UTF8.self)
        let goldenKeys = topLevelKeys(String(decoding: try golden("run_config.json"), as: UTF8.self))
        XCTAssertEqual(topLevelKeys(configText), goldenKeys + ["featurescope"])
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any])
        XCTAssertEqual(config["hookpoints"] as? [String], ["layers.3", "layers.5/mlp"])
        XCTAssertEqual(config["explainer_model"] as? String, qwen)
        XCTAssertEqual(config["explainer_provider"] as? String, "openrouter")
        XCTAssertEqual(config["seed"] as? Int, 7)
        XCTAssertEqual(Set(config["scorers"] as? [String] ?? []), ["detection", "fuzz", "simulation"])
        let constructor = try XCTUnwrap(config["constructor_cfg"] as? [String: Any])
        XCTAssertEqual(constructor["example_ctx_len"] as? Int, 16)
        XCTAssertEqual(constructor["min_examples"] as? Int, 3)
        XCTAssertEqual(constructor["n_non_activating"] as? Int, 7)
        let sampler = try XCTUnwrap(config["sampler_cfg"] as? [String: Any])
        XCTAssertEqual([sampler["n_examples_train"], sampler["n_examples_test"], sampler["n_quantiles"]] as? [Int], [24, 12, 4])
        let cacheCfg = try XCTUnwrap(config["cache_cfg"] as? [String: Any])
        XCTAssertEqual([cacheCfg["cache_ctx_len"], cacheCfg["n_tokens"], cacheCfg["n_splits"]] as? [Int], [64, fx.tokenCount, 2])
        let fs = try XCTUnwrap(config["featurescope"] as? [String: [String: String]])
        XCTAssertEqual(fs["explainer_models"], ["layers.3": qwen, "layers.5/mlp": qwen])

        // Firing counts: every hookpoint, one int64 per latent, the cache's firing counts.
        let counts = try TorchArchiveReader.int64Dictionary([UInt8](try XCTUnwrap(FileManager.default.contents(atPath: out + "/log/hookpoint_firing_counts.pt"))))
        XCTAssertEqual(counts.map(\.0), ["layers.3", "layers.5/mlp"])
        for (part, (_, values)) in zip(cache.parts, counts) {
            XCTAssertEqual(values, try (0 ..< part.latentCount).map { Int64(try part.statistics($0).firingCount) })
        }

        // Importing the export credits the same models and records the same sampling defaults.
        let again = try LatentCacheDirectory.open(DelphiImport.run(out, output: tmp.sub("again"), options: DelphiImportOptions(examples: examples)).cache)
        XCTAssertEqual(CacheSamplingDefaults(metadata: again.manifest.metadata), CacheSamplingDefaults(metadata: cache.manifest.metadata))
        for (p, q) in zip(cache.parts, again.parts) {
            for l in 0 ..< p.latentCount {
                let x = try p.annotations(l), y = try q.annotations(l)
                XCTAssertEqual(x.map(\.model), y.map(\.model))
                XCTAssertEqual(x.map(\.samples), y.map(\.samples))
                XCTAssertEqual(x.map(\.metrics), y.map(\.metrics))
            }
        }
    }

    /// A score kept from a stopped browser job (`<method>-partial`, `extra["partial"]`) is not exported as a scorer.
    func testExportSkipsScoresOfStoppedJobs() throws {
        let tmp = TempDir()
        let fx = DelphiFixture.make(locationType: .u32)
        try fx.write(to: tmp.sub("run"))
        let cache = try LatentCacheDirectory.open(DelphiImport.run(tmp.sub("run"), output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples)).cache)
        let part = try XCTUnwrap(cache.parts.first { $0.hook == "layers.5/mlp" })
        var stopped = try XCTUnwrap(part.annotations(4).last { $0.kind == .score && $0.method == "detection" })
        stopped.method = "detection-partial"
        stopped.extra = ["partial": "1/4"]
        try part.appendAnnotation(stopped)
        let report = try DelphiExport.run(cache: LatentCacheDirectory.open(tmp.sub("cache")), output: tmp.sub("out"), splits: 2)
        XCTAssertNil(report.scores["detection-partial"])
        XCTAssertNotNil(report.scores["detection"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("out") + "/scores/detection-partial"))
    }
}
