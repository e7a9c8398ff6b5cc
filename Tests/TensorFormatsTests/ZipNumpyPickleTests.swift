import FeaturescopeCore
import Foundation
import TensorFormats
import XCTest

/// numpy's .npz, torch.save's .pt and their zip / deflate / pickle layers, on files numpy and torch wrote
/// (Tests/Fixtures/sae-formats, scripts/make-sae-fixtures.py) and on corrupted copies.
final class ZipNumpyPickleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sae-formats").path
    static let gemmaNPZ = root + "/gemma-scope-2b-pt-att/layer_1/width_16k/average_l0_12/params.npz"
    static var kissanePT: String {
        let dir = root + "/kissane"
        let name = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).first { $0.hasSuffix(".pt") } ?? "missing.pt"
        return dir + "/" + name
    }

    func bytes(_ path: String) throws -> Data {
        guard let d = FileManager.default.contents(atPath: path) else { throw XCTSkip("unreachable") }
        return d
    }

    func testNPZArraysStoredCompressedF16AndBigEndianFortranAgree() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.gemmaNPZ), "fixture missing: run scripts/make-sae-fixtures.py")
        let plain = try NumpyArchive(path: Self.gemmaNPZ)
        XCTAssertEqual(Set(plain.names), ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"])
        let wEnc = try plain.array("W_enc")
        XCTAssertEqual(wEnc.shape, [32, 64])
        XCTAssertEqual(wEnc.descr, "<f4")
        let compressed = try NumpyArchive(path: Self.root + "/npz-variants/compressed.npz")
        XCTAssertEqual(compressed.zip.entries.first?.method, 8, "savez_compressed deflates")
        let fortran = try NumpyArchive(path: Self.root + "/npz-variants/bigendian-fortran.npz")
        for name in plain.names {
            let a = try plain.array(name)
            XCTAssertEqual(try compressed.array(name).values, a.values, name)
            let f = try fortran.array(name)
            XCTAssertEqual(f.descr, ">f4")
            XCTAssertEqual(f.shape, a.shape)
            XCTAssertEqual(f.values, a.values, "\(name): Fortran order and big-endian undone")
        }
        let half = try NumpyArchive(path: Self.root + "/npz-variants/f16.npz").array("W_enc")
        XCTAssertEqual(half.descr, "<f2")
        let expected = try JSONSerialization.jsonObject(with: try bytes(Self.root + "/expected.json")) as? [String: Any]
        let first = (expected?["npz_f16_W_enc_first"] as? [Double])?.map(Float.init) ?? []
        XCTAssertEqual(Array(half.values.prefix(8)), first)
    }

    func testTorchSaveStateDictWithATransposedView() throws {
        let ckpt = try TorchCheckpoint(path: Self.kissanePT)
        XCTAssertEqual(ckpt.tensors.map(\.name), ["W_enc", "b_enc", "W_dec", "b_dec"])
        XCTAssertEqual(ckpt.tensor("W_enc")?.shape, [64, 128])
        XCTAssertEqual(ckpt.tensor("W_dec")?.shape, [128, 64], "the transposed view keeps its logical shape")
        XCTAssertEqual(ckpt.tensor("W_dec")?.dtype, .F32)
    }

    func testAPickledClassIsRefusedAndNamed() {
        XCTAssertThrowsError(try TorchCheckpoint(path: Self.root + "/refused-global.pt")) { e in
            guard case let PickleError.refusedGlobal(_, module, name, _)? = e as? PickleError else { return XCTFail("\(e)") }
            XCTAssertEqual(module + "." + name, "collections.Counter")
            XCTAssertTrue("\(e)".contains("never runs its code"))
        }
        // A hand-made pickle calling os.system: refused at the GLOBAL, nothing is looked up.
        let evil: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\nX".utf8) + [2, 0, 0, 0] + Array("ls".utf8) + [0x85, 0x52, 0x2E]
        XCTAssertThrowsError(try RestrictedUnpickler(bytes: evil, path: "evil").load()) { e in
            guard case PickleError.refusedGlobal(_, "os", "system", 2)? = e as? PickleError else { return XCTFail("\(e)") }
        }
        // NEWOBJ (class instantiation) is refused even after an allowed global.
        let newobj: [UInt8] = [0x80, 0x02] + Array("ccollections\nOrderedDict\n)".utf8) + [0x81, 0x2E]
        XCTAssertThrowsError(try RestrictedUnpickler(bytes: newobj, path: "newobj").load()) { e in
            guard case PickleError.refusedOpcode(_, 0x81, _, _)? = e as? PickleError else { return XCTFail("\(e)") }
        }
    }

    func testPickleDataOpcodes() throws {
        // {"a": [1, -2, 3.5, True, None], "b": ("x", 300, 70000, -70000)}
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28]
        p += [0x58, 1, 0, 0, 0] + Array("a".utf8) + [0x5D, 0x28, 0x4B, 1, 0x4A] + withUnsafeBytes(of: Int32(-2).littleEndian, Array.init)
        p += [0x47] + withUnsafeBytes(of: (3.5 as Double).bitPattern.bigEndian, Array.init) + [0x88, 0x4E, 0x65]
        p += [0x8C, 1] + Array("b".utf8) + [0x28, 0x8C, 1] + Array("x".utf8) + [0x4D, 0x2C, 0x01] + [0x8A, 3, 0x70, 0x11, 0x01]
        p += [0x8A, 3, 0x90, 0xEE, 0xFE, 0x74, 0x75, 0x2E]
        guard case let .dict(d) = try RestrictedUnpickler(bytes: p, path: "t").load() else { return XCTFail("not a dict") }
        XCTAssertEqual(d.pairs.count, 2)
        guard case let .list(l) = d.pairs[0].value, case let .tuple(t) = d.pairs[1].value else { return XCTFail("shape") }
        XCTAssertEqual(l.items.count, 5)
        if case let .int(v) = l.items[1] { XCTAssertEqual(v, -2) } else { XCTFail("int") }
        if case let .float(v) = l.items[2] { XCTAssertEqual(v, 3.5) } else { XCTFail("float") }
        if case let .int(v) = t[2] { XCTAssertEqual(v, 70000) } else { XCTFail("LONG1") }
        if case let .int(v) = t[3] { XCTAssertEqual(v, -70000) } else { XCTFail("negative LONG1") }
        // Truncated: no STOP.
        XCTAssertThrowsError(try RestrictedUnpickler(bytes: Array(p.dropLast()), path: "t").load()) { e in
            guard case PickleError.malformed? = e as? PickleError else { return XCTFail("\(e)") }
        }
    }

    func testTruncatedAndCorruptArchivesAreErrorsNamingTheFile() throws {
        let scratch = try ScratchFolder()
        let npz = try bytes(Self.gemmaNPZ)
        // Cut: the end-of-central-directory record is gone.
        let cut = try scratch.file(npz.prefix(npz.count / 2), ext: "npz")
        assertFormatError(try NumpyArchive(path: cut), "truncated npz") { "\($0)".contains(cut) && "\($0)".contains("zip") }
        // Empty.
        let empty = try scratch.file(Data(), ext: "npz")
        assertFormatError(try NumpyArchive(path: empty), "empty npz") { "\($0)".contains("too short") }
        // A flipped data byte: the CRC-32 check catches it.
        var flipped = npz
        flipped[200] ^= 0x55
        let bad = try scratch.file(flipped, ext: "npz")
        assertFormatError(try NumpyArchive(path: bad).array("W_enc"), "flipped byte") { "\($0)".contains("CRC-32") }
        // Deflated member damaged.
        var deflated = try bytes(Self.root + "/npz-variants/compressed.npz")
        for i in 120 ..< 160 { deflated[i] = 0xFF }
        let badDeflate = try scratch.file(deflated, ext: "npz")
        XCTAssertThrowsError(try NumpyArchive(path: badDeflate).array("W_enc"))
        // The pt cut short.
        let pt = try bytes(Self.kissanePT)
        let cutPT = try scratch.file(pt.prefix(pt.count - 100), ext: "pt")
        assertFormatError(try TorchCheckpoint(path: cutPT), "truncated pt") { "\($0)".contains(cutPT) }
    }

    func testBadNpyHeaders() throws {
        func npy(_ header: String, data: [UInt8] = [0, 0, 128, 63]) -> [UInt8] {
            var h = Array(header.utf8)
            while (10 + h.count + 1) % 64 != 0 { h.append(0x20) }
            h.append(0x0A)
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + data
        }
        func parse(_ b: [UInt8]) throws -> NumpyArray { try b.withUnsafeBytes { try NumpyArray.parse($0, name: "x.npy") } }
        XCTAssertEqual(try parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }")).values, [1])
        XCTAssertEqual(try parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }")).values, [1], "a 0-d array")
        assertFormatError(try parse(Array("XNUMPY\u{1}\0\0\0".utf8)), "magic") { if case .badMagic = $0 { return true }; return false }
        assertFormatError(try parse(npy("{'descr': '<f4', 'shape': (1,), }")), "no fortran_order") { "\($0)".contains("fortran_order") }
        assertFormatError(try parse(npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }")), "object array") { "\($0)".contains("pickles") }
        assertFormatError(try parse(npy("{'descr': '|V2', 'fortran_order': False, 'shape': (1,), }")), "void") { "\($0)".contains("bfloat16") }
        assertFormatError(try parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }")), "short data") { if case .truncated = $0 { return true }; return false }
        assertFormatError(try parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,")), "unclosed") { if case .invalidHeader = $0 { return true }; return false }
        assertFormatError(try parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")), "negative") { "\($0)".contains("negative") }
    }

    func testInflateStoredBlockAndErrors() throws {
        let payload = Array("hello, zip".utf8)
        let stored: [UInt8] = [0x01, UInt8(payload.count), 0, ~UInt8(payload.count), 0xFF] + payload
        XCTAssertEqual(try stored.withUnsafeBytes { try Inflate.inflate($0, expectedSize: payload.count) }, payload)
        XCTAssertThrowsError(try stored.withUnsafeBytes { try Inflate.inflate($0, expectedSize: payload.count - 1) }, "output larger than declared")
        XCTAssertThrowsError(try [0x07].withUnsafeBytes { try Inflate.inflate($0, expectedSize: 1) }, "block type 3")
        XCTAssertThrowsError(try [UInt8]().withUnsafeBytes { try Inflate.inflate($0, expectedSize: 1) }, "empty")
    }

    /// Random byte flips and cuts of the .npz, compressed .npz and .pt fixtures: every result is a value or an
    /// error, never a crash (seeded, 300 mutations per file).
    func testMutatedArchivesNeverCrash() throws {
        let scratch = try ScratchFolder()
        var rng = SplitMix64(seed: 0xC0FFEE)
        for source in [Self.gemmaNPZ, Self.root + "/npz-variants/compressed.npz", Self.kissanePT] {
            let original = try bytes(source)
            for i in 0 ..< 300 {
                var d = original
                if i % 10 == 9 {
                    d = d.prefix(Int(rng.next() % UInt64(d.count)))
                } else {
                    for _ in 0 ..< 1 + Int(rng.next() % 4) { d[Int(rng.next() % UInt64(d.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                }
                let path = try scratch.file(d, ext: source.hasSuffix(".pt") ? "pt" : "npz")
                if source.hasSuffix(".pt") {
                    _ = try? TorchCheckpoint(path: path)
                } else if let a = try? NumpyArchive(path: path) {
                    for n in a.names { _ = try? a.array(n) }
                }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }
}
