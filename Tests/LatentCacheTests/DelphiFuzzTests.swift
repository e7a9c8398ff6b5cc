import FeaturescopeCore
import Foundation
import TestSupport
import XCTest
@testable import LatentCache

/// Seeded mutations of a delphi run (config.json, split files, explanation and score files): every
/// import must throw an error or write a cache that passes its own `verify()` (a cache the importer
/// wrote that fails verification is a silent wrong result). `FEATURESCOPE_FUZZ_BUDGET` sets the cases
/// (docs/hardening.md: 1000).
final class DelphiFuzzTests: XCTestCase {
    func testMutatedRunsImportOrFailCleanly() throws {
        let budget = Int(ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_BUDGET"] ?? "") ?? 60
        let seed: UInt64 = 77 &+ (ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0)
        let tmp = TempDir()
        try DelphiFixture.make(locationType: .u16).write(to: tmp.sub("clean"))
        let examples = ExampleConfiguration(windowLength: 32, quantiles: 4, perQuantile: 2, topCount: 5, randomCount: 4, histogramBins: 8, seed: 3)
        // A vocabulary, as `--model` gives: token ids beyond it are refused rather than sized from the file.
        let options = DelphiImportOptions(examples: examples, vocabulary: (0 ..< 300).map { Array("t\($0)".utf8) }, creationCommand: "fuzz")
        let fm = FileManager.default
        let files = try fm.subpathsOfDirectory(atPath: tmp.sub("clean")).filter {
            var d: ObjCBool = false
            return fm.fileExists(atPath: tmp.sub("clean/\($0)"), isDirectory: &d) && !d.boolValue
        }.sorted()
        XCTAssertNoThrow(try DelphiImport.run(tmp.sub("clean"), output: tmp.sub("clean-cache"), options: options))
        var rng = SplitMix64(seed: seed)
        var rejected = 0, imported = 0, wrong: [String] = []
        for i in 0 ..< budget {
            let run = tmp.sub("r\(i)"), out = tmp.sub("c\(i)")
            try fm.copyItem(atPath: tmp.sub("clean"), toPath: run)
            let name = files[Int(rng.next() % UInt64(files.count))]
            var d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: run + "/" + name)))
            for _ in 0 ..< 1 + Int(rng.next() % 3) where !d.isEmpty {
                let at = Int(rng.next() % UInt64(d.count))
                switch rng.next() % 4 {
                case 0: d[at] ^= UInt8(1) << (rng.next() % 8)
                case 1: d[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2: d = Array(d.prefix(at))
                default:
                    let v: UInt64 = [UInt64.max, 0, UInt64(UInt32.max), 1 << 40, 0x7C00][Int(rng.next() % 5)]
                    for k in 0 ..< 8 where at + k < d.count { d[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
                }
            }
            try Data(d).write(to: URL(fileURLWithPath: run + "/" + name))
            do {
                _ = try DelphiImport.run(run, output: out, options: options)
                imported += 1
                do { try LatentCacheDirectory.open(out).verify() } catch {
                    wrong.append("case \(i) (\(name)): the imported cache fails verify: \(error)")
                }
            } catch is CacheError {
                rejected += 1
            }
            try? fm.removeItem(atPath: run)
            try? fm.removeItem(atPath: out)
        }
        print("fuzz delphi run: \(budget) cases (seed \(seed)): \(rejected) rejected, \(imported) imported, \(wrong.count) silently wrong, 0 crashes")
        XCTAssertEqual(wrong, [])
        XCTAssertGreaterThan(rejected, 0)
    }
}
