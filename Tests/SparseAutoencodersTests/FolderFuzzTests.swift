import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// Seeded mutations of a SAE folder's cfg.json and weights: every load returns an SAE or throws an
/// `SAEError`, and a loaded SAE still encodes without crashing.
final class FolderFuzzTests: XCTestCase {
    static let budget = 250

    func mutate(_ original: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
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
        var rng = SeededRandom(seed: seed)
        var loaded = 0, rejected = 0
        let x = rng.floats(3 * 8)
        for _ in 0 ..< Self.budget {
            try FixtureFiles.write(Data(mutate(original, &rng)), to: path)
            do {
                let sae = try SparseAutoencoder.load(folder: folder, options: SAELoadOptions(activationScale: 1, computeDigest: false))
                if sae.dIn == 8 { _ = try sae.decode(try sae.encode(x, count: 3)) }
                loaded += 1
            } catch is SAEError {
                rejected += 1
            }
        }
        try FixtureFiles.write(Data(original), to: path)
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
