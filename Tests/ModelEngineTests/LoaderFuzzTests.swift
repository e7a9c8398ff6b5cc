import FeaturescopeCore
import Foundation
import ModelEngine
import XCTest

/// Seeded mutations of a Hugging Face model folder's `config.json` and `tokenizer.json` (the tiny checkpoints
/// of Tests/Fixtures/tiny-models): every load returns a model/tokenizer or throws, never crashes; a loaded
/// model's forward pass either throws or gives finite logits of the right shape, and a loaded tokenizer gives
/// ids inside its vocabulary that decode without a crash (anything else is a silently wrong result).
/// `FEATURESCOPE_FUZZ_BUDGET` raises the case count (docs/hardening.md: 1000).
final class LoaderFuzzTests: XCTestCase {
    static let budget = ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_BUDGET"].flatMap { Int($0) }.map { max(100, $0) } ?? 100
    static let seedOffset = ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0

    func mutate(_ original: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = original
        for _ in 0 ..< 1 + rng.below(3) {
            guard !b.isEmpty else { break }
            switch rng.below(4) {
            case 0: b[rng.below(b.count)] ^= UInt8(1 << rng.below(8))
            case 1:
                let alphabet = Array("0123456789-.e\"{}[],: ntf".utf8)
                b[rng.below(b.count)] = alphabet[rng.below(alphabet.count)]
            case 2: b = Array(b.prefix(rng.below(b.count)))
            default: b.insert(Array("0123456789".utf8)[rng.below(10)], at: rng.below(b.count))
            }
        }
        return b
    }

    /// A scratch copy of a tiny model folder.
    func scratchCopy(_ family: String) throws -> String {
        let source = FamilyFixture.fixturesDirectory + "/tiny-models/" + family
        XCTAssertTrue(FileManager.default.fileExists(atPath: source + "/config.json"), "missing fixture \(source)")
        let dir = NSTemporaryDirectory() + "featurescope-loader-fuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(atPath: source + "/" + f, toPath: dir + "/" + f)
        }
        return dir
    }

    func testConfigMutations() throws {
        for (i, family) in ["gpt2", "gemma2", "llama3"].enumerated() {
            let dir = try scratchCopy(family)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/config.json"
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            var rng = SplitMix64(seed: 100 + UInt64(i) &+ Self.seedOffset)
            var loaded = 0, rejected = 0, wrong: [String] = []
            for c in 0 ..< Self.budget {
                try Data(mutate(original, &rng)).write(to: URL(fileURLWithPath: path))
                do {
                    let model = try TransformerModel(huggingFaceFolder: dir)
                    loaded += 1
                    let ids: [Int32] = (0 ..< 6).map { Int32(($0 * 7) % model.config.vocabSize) }
                    if let r = try? model.forward(tokens: ids, logits: .all) {
                        if r.logits.count != ids.count * model.config.vocabSize || !r.logits.allSatisfy({ $0.isFinite }) {
                            wrong.append("case \(c): \(r.logits.count) logits, finite \(r.logits.allSatisfy { $0.isFinite })")
                        }
                    }
                } catch {
                    rejected += 1
                }
            }
            print("fuzz HF config.json (\(family)): \(Self.budget) cases: \(rejected) rejected, \(loaded) loaded, \(wrong.count) silently wrong, 0 crashes")
            XCTAssertEqual(wrong, [])
            XCTAssertGreaterThan(rejected, 0)
        }
    }

    func testTokenizerJSONMutations() throws {
        let strings = ["Hello, world!", "def f(x):\n    return x * 2  # 数字 123", "  spaces\tand\r\nlines 🙂", "<|endoftext|>"]
        for (i, family) in ["gpt2", "gemma2", "qwen2"].enumerated() {
            let dir = try scratchCopy(family)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/tokenizer.json"
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            var rng = SplitMix64(seed: 200 + UInt64(i) &+ Self.seedOffset)
            var loaded = 0, rejected = 0, wrong: [String] = []
            for c in 0 ..< Self.budget {
                try Data(mutate(original, &rng)).write(to: URL(fileURLWithPath: path))
                do {
                    let tokenizer = try Tokenizer(huggingFaceJSON: path)
                    loaded += 1
                    for s in strings {
                        let ids = tokenizer.encode(s)
                        if let bad = ids.first(where: { $0 < 0 || Int($0) >= tokenizer.vocabSize }) {
                            wrong.append("case \(c): id \(bad) outside 0..<\(tokenizer.vocabSize)")
                        }
                        _ = tokenizer.decode(ids)
                    }
                } catch {
                    rejected += 1
                }
            }
            print("fuzz tokenizer.json (\(family)): \(Self.budget) cases: \(rejected) rejected, \(loaded) loaded, \(wrong.count) silently wrong, 0 crashes")
            XCTAssertEqual(wrong, [])
            XCTAssertGreaterThan(rejected, 0)
        }
    }
}
