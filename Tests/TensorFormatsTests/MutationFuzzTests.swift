import FeaturescopeCore
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

    /// Base seeds are fixed; `FEATURESCOPE_FUZZ_SEED` varies them for a new hunt (the documented run leaves it unset).
    static let seedOffset = ProcessInfo.processInfo.environment["FEATURESCOPE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0

    /// Accepted mutants are checked against the original: `silentlyWrong` counts those whose tensors
    /// changed meaning (another type or shape, or bytes the mutation did not touch), which must stay 0.
    struct Outcome {
        var opened = 0, rejected = 0, dataChanged = 0, renamed = 0, silentlyWrong = 0
        var kinds: [String: Int] = [:]
        var examples: [String] = []
    }

    /// Applies 1–4 random mutations.
    static func mutate(_ original: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
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

    /// One tensor as a loader reports it.
    struct Seen: Equatable { var type: String; var shape: [Int]; var offset: Int; var bytes: [UInt8] }

    /// Compares an accepted mutant's tensors with the original's. Tensor bytes carry no checksum in
    /// these formats, so bytes the mutation changed inside a tensor's own data are "data changed"; any
    /// other difference (type, shape, offset, or bytes it did not touch) is a silent wrong result.
    static func judge(_ got: [String: Seen], original: [String: Seen], mutant: [UInt8], source: [UInt8],
                      into o: inout Outcome, label: String) {
        var changed = false
        for (name, t) in got {
            guard let ref = original[name] else { o.renamed += 1; return }
            if t.type != ref.type || t.shape != ref.shape || t.offset != ref.offset {
                o.silentlyWrong += 1
                o.examples.append("\(label): '\(name)' read as \(t.type) \(t.shape) at \(t.offset), originally \(ref.type) \(ref.shape) at \(ref.offset)")
                return
            }
            if t.bytes != ref.bytes {
                // Only a change the mutation made to this tensor's own bytes (file length kept) explains different data.
                let explained = mutant.count == source.count && t.bytes.indices.allSatisfy { j in
                    t.bytes[j] == ref.bytes[j] || mutant[t.offset + j] != source[t.offset + j]
                }
                guard explained else {
                    o.silentlyWrong += 1
                    o.examples.append("\(label): '\(name)' data differs where the mutation did not write (file \(mutant.count) bytes, originally \(source.count))")
                    return
                }
                changed = true
            }
        }
        if got.count != original.count { o.renamed += 1 } else if changed { o.dataChanged += 1 }
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

    func run(seed: UInt64, original: Data, ext: String, open: (String) throws -> [String: Seen]) throws -> Outcome {
        let scratch = try ScratchFolder()
        let path = scratch.path + "/m." + ext
        try FixtureFiles.write(original, to: path)
        let reference = try open(path)
        var rng = SplitMix64(seed: seed &+ Self.seedOffset)
        var out = Outcome()
        let bytes = [UInt8](original)
        for i in 0 ..< Self.budget {
            let mutant = Self.mutate(bytes, &rng)
            try FixtureFiles.write(Data(mutant), to: path)
            do {
                let got = try open(path)
                out.opened += 1
                Self.judge(got, original: reference, mutant: mutant, source: bytes, into: &out, label: "case \(i)")
            } catch let e as FormatError {
                out.rejected += 1
                XCTAssertFalse(e.description.isEmpty)
                out.kinds[Self.kind(of: e), default: 0] += 1
            }
        }
        print("fuzz \(ext): \(Self.budget) cases (seed \(seed &+ Self.seedOffset)): \(out.rejected) rejected, \(out.opened) accepted "
              + "(\(out.dataChanged) with changed tensor bytes, \(out.renamed) with renamed tensors), \(out.silentlyWrong) silently wrong, 0 crashes")
        XCTAssertEqual(out.silentlyWrong, 0, out.examples.prefix(5).joined(separator: "\n"))
        return out
    }

    /// A GGUF file whose tensors fill their aligned slots exactly (no padding), so every change of a
    /// type, shape or offset must show up as a layout error.
    static func snugGGUF() -> Data {
        var rng = SplitMix64(seed: 3)
        var g = GGUFFixture()
        g.metadata = [("general.architecture", .string("llama")), ("llama.block_count", .uint32(1)),
                      ("tokenizer.ggml.tokens", .array(elementType: 8, [.string("a"), .string("b")]))]
        g.tensors = [
            GGUFFixtureTensor(name: "f32", dims: [4, 2], type: 0, data: TensorBytes.f32(rng.floats(8))),
            GGUFFixtureTensor(name: "f16", dims: [16], type: 1, data: TensorBytes.f16(rng.floats(16))),
            GGUFFixtureTensor(name: "bf16", dims: [16], type: 30, data: TensorBytes.bf16(rng.floats(16))),
            GGUFFixtureTensor(name: "q4_0", dims: [32, 16], type: 2, data: Data((0 ..< 16).flatMap { b in
                TensorBytes.q4_0Block(scale: 0.5, quants: (0 ..< 32).map { UInt8(($0 + b) % 16) }) })),
            GGUFFixtureTensor(name: "q8_0", dims: [32, 16], type: 8, data: Data((0 ..< 16).flatMap { b in
                TensorBytes.q8_0Block(scale: 0.125, quants: (0 ..< 32).map { Int8(truncatingIfNeeded: $0 * 8 - 128 + b) }) })),
        ]
        return g.build()
    }

    func testGGUFMutations() throws {
        let o = try run(seed: 0xF00D, original: Self.snugGGUF(), ext: "gguf") { path in
            let g = try GGUFFile(path: path)
            // Touch everything a caller could: metadata helpers and every tensor's data.
            _ = try? g.stringArray("tokenizer.ggml.tokens")
            var seen: [String: Seen] = [:]
            for name in g.tensorNames {
                let t = try g.info(name)
                XCTAssertEqual(try g.dequantize(name).count, t.count)
                seen[name] = Seen(type: "\(t.type)", shape: t.dims, offset: t.fileOffset, bytes: Array(try g.rawBytes(name)))
            }
            return seen
        }
        XCTAssertEqual(o.opened + o.rejected, Self.budget)
        XCTAssertGreaterThan(o.rejected, Self.budget / 4, "many mutations are caught")
        XCTAssertGreaterThan(o.kinds.count, 3, "several distinct errors: \(o.kinds)")
    }

    func testSafetensorsMutations() throws {
        let original = SafetensorsFixture.small().build()
        let o = try run(seed: 0xBEEF, original: original, ext: "safetensors") { path in
            let f = try SafetensorsFile(path: path)
            var seen: [String: Seen] = [:]
            for name in f.tensorNames {
                let t = try f.info(name)
                XCTAssertEqual(try f.floats(name).count, t.count)
                seen[name] = Seen(type: t.dtype.rawValue, shape: t.shape, offset: t.fileOffset, bytes: Array(try f.rawBytes(name)))
            }
            return seen
        }
        XCTAssertEqual(o.opened + o.rejected, Self.budget)
        XCTAssertGreaterThan(o.rejected, Self.budget / 4)
        XCTAssertGreaterThan(o.kinds.count, 2, "several distinct errors: \(o.kinds)")
    }
}
