import FeaturescopeCore
import Foundation
import XCTest
@testable import LatentCache

/// Seeded mutation fuzzer: damaged caches must give a `CacheError`, never a crash; a damaged cache
/// that opens and passes `verify()` must read back exactly the clean cache's data (else it is a
/// silent wrong result). `FEATURESCOPE_FUZZ_BUDGET` sets the cases per run (docs/hardening.md: 1000).
final class MutationFuzzTests: XCTestCase {
    /// Everything a reader gets from a cache, apart from the manifest's free-text metadata.
    struct Fingerprint: Equatable {
        var tokens: [Int] = []
        var strings: [String] = []
        var summaries: [LatentSummary] = []
        var records: [LatentRecord] = []
        var annotations: [[Annotation]] = []
        var activations: [[Float]?] = []

        init(_ c: LatentCacheDirectory) throws {
            tokens = try c.tokens.tokens(start: 0, count: c.tokens.tokenCount)
            strings = (0 ..< c.vocabulary.count).map { c.displayString($0) }
            for p in c.parts {
                for l in 0 ..< p.latentCount {
                    summaries.append(try p.summary(l))
                    records.append(try p.record(l))
                    annotations.append(try p.annotations(l))
                    activations.append(try p.allActivations(l).map { $0.activations + $0.positions.map(Float.init) })
                }
            }
        }
    }

    func testRandomDamageNeverCrashes() throws {
        try fuzz(formatVersion: 2, seed: 99)
    }

    func testRandomDamageNeverCrashesVersion1() throws {
        try fuzz(formatVersion: 1, seed: 98)
    }

    func fuzz(formatVersion: Int, seed: UInt64) throws {
        let budget = Int(ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_BUDGET"] ?? "") ?? 100
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 3, rowLength: 32, latentCounts: [5], vocab: 100, seed: 21)
        try corpus.build(at: tmp.sub("clean"), examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2),
                         formatVersion: formatVersion)
        XCTAssertEqual(try LatentCacheDirectory.open(tmp.sub("clean")).manifest.version, formatVersion)
        do {
            let part = try LatentCacheDirectory.open(tmp.sub("clean")).parts[0]
            try part.appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "e", model: "m", text: "hello"))
            try part.appendAnnotation(Annotation(kind: .score, latent: 1, method: "detection", model: "m", metrics: ScoreMetrics(score: 0.7)))
        }
        let fm = FileManager.default
        let files = try fm.subpathsOfDirectory(atPath: tmp.sub("clean")).filter {
            var d: ObjCBool = false
            return fm.fileExists(atPath: tmp.sub("clean/\($0)"), isDirectory: &d) && !d.boolValue
        }.sorted()
        let reference = try Fingerprint(try LatentCacheDirectory.open(tmp.sub("clean")))
        var rng = SplitMix64(seed: seed &+ (ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0))
        var errors = 0, clean = 0, wrong: [String] = []
        for i in 0 ..< budget {
            let dir = tmp.sub("m\(i)")
            try fm.copyItem(atPath: tmp.sub("clean"), toPath: dir)
            let file = dir + "/" + files[Int(rng.next() % UInt64(files.count))]
            var d = try Data(contentsOf: URL(fileURLWithPath: file))
            switch rng.next() % 4 {
            case 0 where !d.isEmpty:  // flip bytes
                for _ in 0 ..< 1 + Int(rng.next() % 4) { let o = Int(rng.next() % UInt64(d.count)); d[o] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            case 1:  // truncate
                d = d.prefix(Int(rng.next() % UInt64(d.count + 1)))
            case 2 where d.count >= 8:  // overwrite a 32/64-bit field with an extreme value
                let o = Int(rng.next() % UInt64(d.count - 7))
                let v: UInt64 = [UInt64.max, 0, UInt64(UInt32.max), 1 << 40][Int(rng.next() % 4)]
                withUnsafeBytes(of: v.littleEndian) { for k in 0 ..< 8 { d[o + k] = $0[k] } }
            default:  // append garbage
                d.append(contentsOf: (0 ..< Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
            try d.write(to: URL(fileURLWithPath: file))
            do {
                let c = try LatentCacheDirectory.open(dir)
                do {
                    try c.verify()
                    if try Fingerprint(c) != reference { wrong.append("case \(i): \(file.dropFirst(dir.count + 1)) passes verify but reads differently") }
                } catch is CacheError {}
                for p in c.parts {
                    for l in 0 ..< p.latentCount {
                        _ = try? p.summary(l); _ = try? p.record(l); _ = try? p.annotations(l); _ = try? p.allActivations(l)
                    }
                    _ = try? p.appendAnnotation(Annotation(kind: .explanation, latent: 0, method: "e", model: "m", text: "x"))
                }
                for t in -1 ... 101 { _ = c.displayString(t) }
                do { try c.verify(); clean += 1 } catch is CacheError { errors += 1 }
            } catch is CacheError {
                errors += 1
            }
            try fm.removeItem(atPath: dir)
        }
        print("fuzz latent cache v\(formatVersion): \(budget) cases (seed \(seed)): \(errors) rejected, \(clean) accepted, \(wrong.count) silently wrong, 0 crashes")
        XCTAssertEqual(wrong, [], "a damaged cache that verifies must read exactly like the clean one")
        XCTAssertGreaterThan(errors, budget / 3, "most mutations should be detected")
    }
}
