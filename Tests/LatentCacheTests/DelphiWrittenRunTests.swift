import Foundation
import TensorFormats
import TestSupport
import XCTest
@testable import LatentCache

/// A run written by delphi 0.1.3's own code (Tests/Fixtures/delphi/run, made by
/// scripts/delphi-check/make-delphi-run.py: its LatentCache over a toy model, RunConfig.save_json, orjson score
/// and explanation files, torch.save firing counts), imported and exported again.
final class DelphiWrittenRunTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 10, perQuantile: 4, topCount: 5, randomCount: 4, histogramBins: 8, seed: 3)
    static let run = DelphiRoundTripTests.fixtures + "/run"
    let hookpoints = ["layers.0", "layers.1"]
    let explainer = "Qwen/Qwen2.5-Coder-1.5B-Instruct"

    func bytes(_ path: String) throws -> Data {
        try XCTUnwrap(FileManager.default.contents(atPath: path), "missing \(path)")
    }

    func testImportMatchesDelphisOwnFilesAndTheExportWritesThemBack() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.run + "/run_config.json"), "missing golden run \(Self.run)")
        let tmp = TempDir()
        let report = try DelphiImport.run(Self.run, output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples))
        XCTAssertEqual(report.droppedActivations, [:])
        XCTAssertEqual(report.mergedDuplicates, 0)
        XCTAssertEqual(report.skippedFiles, [:])
        XCTAssertEqual(report.explainerModel, explainer)
        XCTAssertEqual(report.explanations, 4)
        XCTAssertEqual(report.scores, ["detection": 4, "fuzz": 4])
        let cache = try LatentCacheDirectory.open(tmp.sub("cache"))
        XCTAssertEqual(cache.parts.map(\.name), hookpoints)
        XCTAssertEqual(cache.manifest.metadata.model, "toy/Toy-2L")
        XCTAssertEqual([cache.manifest.examples.windowLength, cache.manifest.examples.quantiles], [16, 4])
        let d = CacheSamplingDefaults(metadata: cache.manifest.metadata)
        XCTAssertEqual([d.trainExamples, d.testExamples, d.nonActivating, d.minExamples], [8, 8, 4, 2])
        XCTAssertEqual(d.seed, 11)

        // Firing counts: the cache's statistics equal delphi's own log/hookpoint_firing_counts.pt.
        let delphiCounts = try TorchArchiveReader.int64Dictionary([UInt8](bytes(Self.run + "/log/hookpoint_firing_counts.pt")))
        XCTAssertEqual(delphiCounts.map(\.0), hookpoints)
        for (part, (_, counts)) in zip(cache.parts, delphiCounts) {
            XCTAssertEqual(part.latentCount, counts.count)
            XCTAssertEqual(try (0 ..< part.latentCount).map { Int64(try part.statistics($0).firingCount) }, counts)
        }
        // Credit and per-quantile accuracy.
        for part in cache.parts {
            let a = try part.annotations(1)
            XCTAssertEqual(Set(a.map(\.model)), [explainer])
            let det = try XCTUnwrap(a.first { $0.method == "detection" })
            XCTAssertNotNil(det.metrics?.values["quantile0Accuracy"])
        }

        // The export writes delphi's bytes back: score records, explanations and config.json byte for byte.
        _ = try DelphiExport.run(cache: cache, output: tmp.sub("out"), splits: 2)
        let out = tmp.sub("out")
        for h in hookpoints {
            for l in [1, 3] {
                for scorer in ["detection", "fuzz"] {
                    let rel = "/scores/\(scorer)/\(h)_latent\(l).txt"
                    XCTAssertEqual(String(decoding: try bytes(out + rel), as: UTF8.self), String(decoding: try bytes(Self.run + rel), as: UTF8.self), rel)
                }
                let rel = "/explanations/\(h)_latent\(l).txt"
                XCTAssertEqual(try bytes(out + rel), try bytes(Self.run + rel), rel)
            }
            XCTAssertEqual(String(decoding: try bytes(out + "/latents/\(h)/config.json"), as: UTF8.self),
                           String(decoding: try bytes(Self.run + "/latents/\(h)/config.json"), as: UTF8.self))
            // Split files: the same tensors, dtypes and values.
            for name in ["0_9", "10_19"] {
                let a = try SafetensorsFile(path: Self.run + "/latents/\(h)/\(name).safetensors")
                let b = try SafetensorsFile(path: out + "/latents/\(h)/\(name).safetensors")
                for t in ["locations", "activations", "tokens"] {
                    XCTAssertEqual(try a.info(t).dtype, try b.info(t).dtype, "\(h) \(name) \(t)")
                    XCTAssertEqual(try a.info(t).shape, try b.info(t).shape, "\(h) \(name) \(t)")
                    XCTAssertEqual(Array(try a.rawBytes(t)), Array(try b.rawBytes(t)), "\(h) \(name) \(t)")
                }
            }
        }
        // Firing counts: the same values. run_config.json: delphi's text byte for byte, then Featurescope's section.
        let ours = try TorchArchiveReader.int64Dictionary([UInt8](bytes(out + "/log/hookpoint_firing_counts.pt")))
        XCTAssertEqual(ours.map(\.0), delphiCounts.map(\.0))
        XCTAssertEqual(ours.map(\.1), delphiCounts.map(\.1))
        let theirs = String(decoding: try bytes(Self.run + "/run_config.json"), as: UTF8.self)
        let mine = String(decoding: try bytes(out + "/run_config.json"), as: UTF8.self)
        XCTAssertTrue(theirs.hasSuffix("\n}"))
        XCTAssertTrue(mine.hasPrefix(String(theirs.dropLast(2)) + ",\n    \"featurescope\": {"), mine)
    }

    /// Seeded mutations of run_config.json (bytes flipped, replaced, cut; values swapped for other JSON types):
    /// every import either succeeds or throws a CacheError naming the file. FEATURESCOPE_FUZZ_BUDGET sets the cases.
    func testMutatedRunConfigImportsOrFailsCleanly() throws {
        let budget = Int(ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_BUDGET"] ?? "") ?? 150
        let tmp = TempDir()
        try FileManager.default.copyItem(atPath: Self.run, toPath: tmp.sub("run"))
        let original = [UInt8](try bytes(Self.run + "/run_config.json"))
        let replacements = ["null", "-1", "\"x\"", "[]", "{}", "1e400", "99999999999999999999", "true", "[1,2]"].map { Array($0.utf8) }
        var state: UInt64 = 0x5EED
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        var rejected = 0, imported = 0
        for i in 0 ..< budget {
            var d = original
            switch i % 3 {
            case 0: for _ in 0 ..< 1 + next() % 3 { d[next() % d.count] = UInt8(truncatingIfNeeded: next()) }
            case 1: d = Array(d.prefix(next() % d.count))
            default:
                // A value (after a ": ") replaced by another JSON type or an out-of-range number.
                let colons = d.indices.filter { d[$0] == UInt8(ascii: ":") }
                let at = colons[next() % colons.count] + 2
                var end = at
                while end < d.count, ![UInt8(ascii: ","), UInt8(ascii: "\n")].contains(d[end]) { end += 1 }
                d.replaceSubrange(at ..< end, with: replacements[next() % replacements.count])
            }
            try Data(d).write(to: URL(fileURLWithPath: tmp.sub("run/run_config.json")))
            do {
                _ = try DelphiImport.run(tmp.sub("run"), output: tmp.sub("c\(i)"), options: DelphiImportOptions(examples: examples))
                imported += 1
                try LatentCacheDirectory.open(tmp.sub("c\(i)")).verify()
            } catch CacheError.invalidDelphiRun(let path, _) {
                XCTAssertTrue(path.hasSuffix("run_config.json") || path.contains("/latents/"), path)
                rejected += 1
            }
            try? FileManager.default.removeItem(atPath: tmp.sub("c\(i)"))
        }
        print("fuzz delphi run_config.json: \(budget) cases: \(rejected) rejected, \(imported) imported, 0 crashes")
        XCTAssertGreaterThan(rejected, 0)
        XCTAssertGreaterThan(imported, 0)
    }
}
