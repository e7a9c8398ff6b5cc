import Foundation
import TensorFormats
import TestSupport
import XCTest

/// A seeded mutation fuzzer with a fixed budget: random byte flips, overwrites, insertions and
/// truncations of small valid files. Every outcome must be a value or a thrown `FormatError`;
/// a crash fails the whole run.
final class MutationFuzzTests: XCTestCase {
    /// Mutations per file type; `FEATURESCOPE_FUZZ_BUDGET` raises it for a longer local hunt.
    static let budget = ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_BUDGET"].flatMap { Int($0) }.map { max(100, $0) } ?? 2_000

    struct Outcome { var opened = 0; var rejected = 0; var kinds: [String: Int] = [:] }

    /// Applies 1–4 random mutations.
    static func mutate(_ original: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var b = original
        for _ in 0 ..< 1 + rng.int(4) {
            guard !b.isEmpty else { break }
            switch rng.int(6) {
            case 0: b[rng.int(b.count)] ^= UInt8(1 << rng.int(8))              // bit flip
            case 1: b[rng.int(b.count)] = UInt8(truncatingIfNeeded: rng.next()) // random byte
            case 2: b = Array(b.prefix(rng.int(b.count)))                       // truncate
            case 3:                                                              // interesting 8-byte value
                let at = rng.int(b.count)
                let vals: [UInt64] = [0, 1, 0xFF, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64.max, UInt64.max / 2, 1 << 32, 1 << 62]
                let v = vals[rng.int(vals.count)]
                for k in 0 ..< 8 where at + k < b.count { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            case 4: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.int(b.count)) // insertion
            default:                                                             // deletion of a short run
                let at = rng.int(b.count)
                b.removeSubrange(at ..< min(b.count, at + 1 + rng.int(8)))
            }
        }
        return b
    }

    static func kind(of e: FormatError) -> String {
        switch e {
        case .cannotOpen: return "cannotOpen"
        case .badMagic: return "badMagic"
        case .unsupportedVersion: return "unsupportedVersion"
        case .truncated: return "truncated"
        case .invalidHeader: return "invalidHeader"
        case .unknownValueType: return "unknownValueType"
        case .unsupportedTensorType: return "unsupportedTensorType"
        case .invalidTensor: return "invalidTensor"
        case .tensorNotFound: return "tensorNotFound"
        case .dtypeMismatch: return "dtypeMismatch"
        case .metadataMissing: return "metadataMissing"
        case .metadataType: return "metadataType"
        case .writeFailed: return "writeFailed"
        }
    }

    func run(seed: UInt64, original: Data, ext: String, open: (String) throws -> Void) throws -> Outcome {
        let scratch = try ScratchFolder()
        let path = scratch.path + "/m." + ext
        var rng = SeededRandom(seed: seed)
        var out = Outcome()
        let bytes = [UInt8](original)
        for _ in 0 ..< Self.budget {
            try FixtureFiles.write(Data(Self.mutate(bytes, &rng)), to: path)
            do {
                try open(path)
                out.opened += 1
            } catch let e as FormatError {
                out.rejected += 1
                XCTAssertFalse(e.description.isEmpty)
                out.kinds[Self.kind(of: e), default: 0] += 1
            }
        }
        return out
    }

    func testGGUFMutations() throws {
        let original = GGUFFixture.small().build()
        let o = try run(seed: 0xF00D, original: original, ext: "gguf") { path in
            let g = try GGUFFile(path: path)
            // Touch everything a caller could: metadata helpers and every tensor's data.
            _ = try? g.stringArray("tokenizer.ggml.tokens")
            for name in g.tensorNames {
                let v = try g.dequantize(name)
                XCTAssertEqual(v.count, try g.info(name).count)
            }
        }
        XCTAssertEqual(o.opened + o.rejected, Self.budget)
        XCTAssertGreaterThan(o.rejected, Self.budget / 4, "many mutations are caught")
        XCTAssertGreaterThan(o.kinds.count, 3, "several distinct errors: \(o.kinds)")
    }

    func testSafetensorsMutations() throws {
        let original = SafetensorsFixture.small().build()
        let o = try run(seed: 0xBEEF, original: original, ext: "safetensors") { path in
            let f = try SafetensorsFile(path: path)
            for name in f.tensorNames {
                let v = try f.floats(name)
                XCTAssertEqual(v.count, try f.info(name).count)
            }
        }
        XCTAssertEqual(o.opened + o.rejected, Self.budget)
        XCTAssertGreaterThan(o.rejected, Self.budget / 4)
        XCTAssertGreaterThan(o.kinds.count, 2, "several distinct errors: \(o.kinds)")
    }
}
