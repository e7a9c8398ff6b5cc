import Foundation
import TensorFormats
import TestSupport
import XCTest
@testable import LatentCache

final class DelphiTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 4, perQuantile: 2, topCount: 5, randomCount: 4, histogramBins: 8, seed: 3)

    func importFixture(_ type: DelphiFixture.LocationType, _ tmp: TempDir) throws -> (DelphiFixture, LatentCacheDirectory, DelphiImportReport) {
        let fx = DelphiFixture.make(locationType: type)
        try fx.write(to: tmp.sub("run"))
        let report = try DelphiImport.run(tmp.sub("run"), output: tmp.sub("cache"), options: DelphiImportOptions(examples: examples, creationCommand: "test import"))
        return (fx, try LatentCacheDirectory.open(tmp.sub("cache")), report)
    }

    func checkImported(_ fx: DelphiFixture, _ cache: LatentCacheDirectory, _ report: DelphiImportReport) throws {
        XCTAssertEqual(cache.parts.map(\.name), ["layers.3", "layers.5/mlp"])
        XCTAssertEqual(cache.parts[0].hook, "blocks.3.hook_resid_post")
        XCTAssertEqual(cache.parts.map(\.latentCount), [12, 7])
        XCTAssertEqual(cache.manifest.tokens.rowLength, 64)
        XCTAssertEqual(cache.manifest.metadata.model, "HuggingFaceTB/SmolLM2-135M-Instruct")
        XCTAssertEqual(cache.manifest.metadata.creationCommand, "test import")
        XCTAssertEqual(cache.manifest.vocabularySource, "token-ids")
        XCTAssertTrue(report.notes.contains { $0.contains("token ids") })
        XCTAssertEqual(cache.displayString(fx.tokens[0][0]), "⟨\(fx.tokens[0][0])⟩")
        try cache.verify()
        for (i, h) in fx.hookpoints.enumerated() {
            try assertPartMatches(cache.parts[i], acts: h.activations, tokens: fx.tokens, examples: examples)
        }
        // Every explanation, carried over verbatim.
        XCTAssertEqual(report.explanations, 4)
        for (i, h) in fx.hookpoints.enumerated() {
            for (l, text) in fx.explanations[h.name] ?? [:] {
                XCTAssertEqual(try cache.parts[i].summary(l).explanationPreview, text)
                let e = try cache.parts[i].annotations(l).filter { $0.kind == .explanation }
                XCTAssertEqual(e.map(\.text), [text])
            }
        }
        // Every score file: detection and fuzz as samples, simulation raw.
        XCTAssertEqual(report.scores, ["detection": 3, "fuzz": 3, "simulation": 1])
        for (i, h) in fx.hookpoints.enumerated() {
            for l in fx.scoredLatents[h.name] ?? [] {
                let all = try cache.parts[i].annotations(l)
                for scorer in ["detection", "fuzz"] {
                    let a = try XCTUnwrap(all.first { $0.method == scorer })
                    let expected = fx.scoreSamples(hookpoint: h.name, latent: l, scorer: scorer)
                    let samples = try XCTUnwrap(a.samples)
                    XCTAssertEqual(samples.count, expected.count)
                    for (s, e) in zip(samples, expected) {
                        XCTAssertEqual(s.strTokens, e["str_tokens"] as? [String])
                        XCTAssertEqual(s.activating, e["activating"] as? Bool)
                        XCTAssertEqual(s.prediction, e["prediction"] as? Bool)
                        XCTAssertEqual(s.correct, e["correct"] as? Bool)
                        XCTAssertEqual(s.distance, Double(e["distance"] as! Int))
                    }
                    XCTAssertEqual(a.metrics?.score, ScoreMetrics.balancedAccuracy(of: samples).score)
                    XCTAssertEqual(a.explanation, fx.explanations[h.name]?[l])
                }
                let s = try cache.parts[i].summary(l)
                XCTAssertNotNil(s.bestDetection)
                XCTAssertNotNil(s.bestFuzz)
            }
        }
        let sim = try XCTUnwrap(try cache.parts[0].annotations(2).first { $0.method == "simulation" })
        XCTAssertEqual(sim.metrics?.score, 0.42)
        guard case .array(let items)? = sim.raw, case .object(let second) = items[1] else { return XCTFail("simulation raw JSON lost") }
        XCTAssertEqual(second["ev_correlation_score"], .null)   // Python's NaN
    }

    func testImportU16() throws {
        let tmp = TempDir()
        let (fx, cache, report) = try importFixture(.u16, tmp)
        try checkImported(fx, cache, report)
    }

    func testImportU32() throws {
        let tmp = TempDir()
        let (fx, cache, report) = try importFixture(.u32, tmp)
        try checkImported(fx, cache, report)
    }

    func testExportThenImportGivesTheSameCache() throws {
        let tmp = TempDir()
        let (_, a, _) = try importFixture(.u32, tmp)
        let report = try DelphiExport.run(cache: a, output: tmp.sub("exported"), splits: 2)
        XCTAssertEqual(report.splitFiles, 4)
        XCTAssertEqual(report.explanations, 4)
        XCTAssertEqual(report.scores, ["detection": 3, "fuzz": 3, "simulation": 1])
        let fm = FileManager.default
        XCTAssertTrue(fm.fileExists(atPath: tmp.sub("exported/latents/layers.3/0_5.safetensors")))
        XCTAssertTrue(fm.fileExists(atPath: tmp.sub("exported/latents/layers.5/mlp/3_6.safetensors")))
        XCTAssertTrue(fm.fileExists(atPath: tmp.sub("exported/explanations/layers.5/mlp_latent4.txt")))
        XCTAssertTrue(fm.fileExists(atPath: tmp.sub("exported/scores/detection/layers.5--mlp_latent4.txt")))
        XCTAssertTrue(fm.fileExists(atPath: tmp.sub("exported/latents/layers.3/config.json")))
        let st = try SafetensorsFile(path: tmp.sub("exported/latents/layers.3/6_11.safetensors"))
        XCTAssertEqual(try st.info("locations").dtype, .U16)   // auto: everything fits
        XCTAssertEqual(try st.info("activations").dtype, .F16)
        XCTAssertEqual(try st.info("tokens").shape, [16, 64])

        let b = try LatentCacheDirectory.open(try DelphiImport.run(tmp.sub("exported"), output: tmp.sub("again"),
                                                                    options: DelphiImportOptions(examples: examples)).cache)
        XCTAssertEqual(a.parts.map(\.name), b.parts.map(\.name))
        for (p, q) in zip(a.parts, b.parts) {
            for l in 0 ..< p.latentCount {
                XCTAssertEqual(try p.statistics(l), try q.statistics(l))
                XCTAssertEqual(try p.record(l), try q.record(l))
                let x = try p.annotations(l), y = try q.annotations(l)
                XCTAssertEqual(x.map(\.kind), y.map(\.kind))
                XCTAssertEqual(x.map(\.method), y.map(\.method))
                XCTAssertEqual(x.map(\.text), y.map(\.text))
                XCTAssertEqual(x.map(\.samples), y.map(\.samples))
                XCTAssertEqual(x.map(\.raw), y.map(\.raw))
            }
        }
        // U32 on request; U16 refused where it cannot hold the values is covered by splitRanges sizes.
        let u32 = try DelphiExport.run(cache: a, output: tmp.sub("u32"), splits: 1, locationType: .u32)
        XCTAssertEqual(u32.splitFiles, 2)
        XCTAssertEqual(try SafetensorsFile(path: tmp.sub("u32/latents/layers.3/0_11.safetensors")).info("locations").dtype, .U32)
    }

    /// delphi: torch.linspace(0, width, n + 1).long(), ranges [b[i], b[i+1] − 1].
    func testSplitRangesFollowDelphi() {
        XCTAssertEqual(DelphiExport.splitRanges(width: 12, splits: 5).map { [$0.start, $0.end] }, [[0, 1], [2, 3], [4, 6], [7, 8], [9, 11]])
        XCTAssertEqual(DelphiExport.splitRanges(width: 131_072, splits: 5).map { [$0.start, $0.end] },
                       [[0, 26213], [26214, 52427], [52428, 78642], [78643, 104856], [104857, 131071]])
        XCTAssertEqual(DelphiExport.splitRanges(width: 3, splits: 5).map { [$0.start, $0.end] }, [[0, 0], [1, 1], [2, 2]])
        let r = DelphiExport.splitRanges(width: 4608, splits: 7)
        XCTAssertEqual(r.first?.start, 0); XCTAssertEqual(r.last?.end, 4607)
        for (a, b) in zip(r, r.dropFirst()) { XCTAssertEqual(b.start, a.end + 1) }
    }

    func testBadRunsAreReported() throws {
        let tmp = TempDir()
        XCTAssertThrowsError(try DelphiImport.run(tmp.sub("none"), output: tmp.sub("c1"), options: DelphiImportOptions())) { err in
            guard case CacheError.invalidDelphiRun = err else { return XCTFail("\(err)") }
        }
        // A location outside the token rows.
        let dir = tmp.sub("bad/latents/layers.0")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var w = SafetensorsWriter()
        try w.add("locations", integers: [0, 0, 0, 5, 0, 1], shape: [2, 3], dtype: .U32)
        try w.add("activations", floats: [1, 2], shape: [2], dtype: .F16)
        try w.add("tokens", integers: [Int64](repeating: 1, count: 64), shape: [2, 32], dtype: .I64)
        try w.write(to: dir + "/0_3.safetensors")
        XCTAssertThrowsError(try DelphiImport.run(tmp.sub("bad"), output: tmp.sub("c2"), options: DelphiImportOptions())) { err in
            guard case CacheError.invalidDelphiRun(_, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(reason.contains("location 1"), reason)
        }
        // cache_ctx_len not a multiple of 32.
        var w2 = SafetensorsWriter()
        try w2.add("locations", integers: [0, 0, 0], shape: [1, 3], dtype: .U16)
        try w2.add("activations", floats: [1], shape: [1], dtype: .F16)
        try w2.add("tokens", integers: [Int64](repeating: 1, count: 40), shape: [2, 20], dtype: .I64)
        try FileManager.default.createDirectory(atPath: tmp.sub("ctx/latents/l"), withIntermediateDirectories: true)
        try w2.write(to: tmp.sub("ctx/latents/l/0_0.safetensors"))
        XCTAssertThrowsError(try DelphiImport.run(tmp.sub("ctx"), output: tmp.sub("c3"), options: DelphiImportOptions())) { err in
            guard case CacheError.invalidDelphiRun(_, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(reason.contains("multiple of the window length"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("c2")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("c2.partial")))
    }

    func testAnnotationsIntoAnExistingCache() throws {
        let tmp = TempDir()
        let (fx, _, _) = try importFixture(.u16, tmp)
        // A fresh cache of the same run without annotations: export without them, re-import, then add them.
        try fx.write(to: tmp.sub("run2"))
        try FileManager.default.removeItem(atPath: tmp.sub("run2/explanations"))
        try FileManager.default.removeItem(atPath: tmp.sub("run2/scores"))
        let bare = try LatentCacheDirectory.open(DelphiImport.run(tmp.sub("run2"), output: tmp.sub("bare"), options: DelphiImportOptions(examples: examples)).cache)
        XCTAssertNil(try bare.parts[0].summary(2).explanationPreview)
        let (e, s) = try DelphiImport.importAnnotations(run: tmp.sub("run"), into: bare)
        XCTAssertEqual(e, 4)
        XCTAssertEqual(s, ["detection": 3, "fuzz": 3, "simulation": 1])
        XCTAssertEqual(try bare.parts[0].summary(2).explanationPreview, fx.explanations["layers.3"]?[2])
        XCTAssertEqual(try bare.parts[1].summary(4).explanationPreview, "Plural nouns")
        // Example windows: every activating window (activations.bin present), strongest first.
        let ex = try bare.parts[0].exampleWindows(1)
        XCTAssertEqual(ex.activating.count, try bare.parts[0].statistics(1).activeWindowCount)
        XCTAssertEqual(ex.activating.map(\.maxActivation), ex.activating.map(\.maxActivation).sorted(by: >))
        XCTAssertEqual(bare.parts[0].tokenStrings(ex.activating[0]).count, 32)
    }
}
