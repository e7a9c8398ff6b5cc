import FeaturescopeCore
import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// Seeded mutations of a SAE folder's cfg.json and weights: every load returns an SAE or throws an
/// `SAEError`, and a loaded SAE encodes finite inputs to finite codes and reconstructions (an SAE
/// that gives NaN or Inf from finite input is a silent wrong result).
final class FolderFuzzTests: XCTestCase {
    /// Mutations per file; `FEATURESCOPE_FUZZ_BUDGET` raises it (docs/hardening.md uses 1000).
    static let budget = ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_BUDGET"].flatMap { Int($0) }.map { max(250, $0) } ?? 250
    static let seedOffset = ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0

    func mutate(_ original: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = original
        for _ in 0 ..< 1 + rng.int(3) {
            guard !b.isEmpty else { break }
            switch rng.int(4) {
            case 0: b[rng.int(b.count)] ^= UInt8(1 << rng.int(8))
            case 1:
                let alphabet = Array("0123456789-.e\"{}[],: ntf".utf8)
                b[rng.int(b.count)] = alphabet[rng.int(alphabet.count)]
            case 2: b = Array(b.prefix(rng.int(b.count)))
            default: b.insert(Array("0123456789".utf8)[rng.int(10)], at: rng.int(b.count))
            }
        }
        return b
    }

    func fuzz(file name: String, folder: String, seed: UInt64) throws -> (loaded: Int, rejected: Int) {
        let path = folder + "/" + name
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SplitMix64(seed: seed &+ Self.seedOffset)
        var loaded = 0, rejected = 0, wrong: [String] = []
        let x = rng.floats(3 * 8)
        for i in 0 ..< Self.budget {
            try FixtureFiles.write(Data(mutate(original, &rng)), to: path)
            do {
                let sae = try SparseAutoencoder.load(folder: folder, options: SAELoadOptions(activationScale: 1, computeDigest: false))
                let input = sae.dIn == 8 ? x : (0 ..< 3 * sae.dIn).map { Float($0 % 7) / 7 - 0.5 }
                let codes = try sae.encode(input, count: 3)
                let values = (0 ..< 3).flatMap { codes.latents(ofToken: $0).map(\.value) }
                let reconstruction = try sae.decode(codes)
                if !(values + reconstruction).allSatisfy(\.isFinite) { wrong.append("case \(i): non-finite codes or reconstruction") }
                loaded += 1
            } catch is SAEError {
                rejected += 1
            }
        }
        try FixtureFiles.write(Data(original), to: path)
        print("fuzz SAE \((folder as NSString).lastPathComponent)/\(name): \(Self.budget) cases (seed \(seed &+ Self.seedOffset)): \(rejected) rejected, \(loaded) loaded, \(wrong.count) silently wrong, 0 crashes")
        XCTAssertEqual(wrong, [], "a loaded SAE must map finite input to finite output")
        return (loaded, rejected)
    }

    func testSAELensConfigAndWeightsMutations() throws {
        let scratch = try SAEScratch()
        let folder = scratch.folder("saelens")
        try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: 8, dSAE: 16, seed: 1), architecture: "topk", k: 4)
        let cfg = try fuzz(file: "cfg.json", folder: folder, seed: 1)
        XCTAssertGreaterThan(cfg.rejected, 0)
        XCTAssertGreaterThan(cfg.loaded, 0, "some mutations (whitespace, metadata values) still load")
        let weights = try fuzz(file: "sae_weights.safetensors", folder: folder, seed: 2)
        XCTAssertGreaterThan(weights.rejected, 0)
    }

    func testSparsifyConfigMutations() throws {
        let scratch = try SAEScratch()
        let folder = scratch.folder("layers.2")
        try SAEFixtures.writeSparsify(folder: folder, weights: .random(dIn: 8, dSAE: 16, seed: 2), k: 3)
        let cfg = try fuzz(file: "cfg.json", folder: folder, seed: 3)
        XCTAssertGreaterThan(cfg.rejected, 0)
    }
}
