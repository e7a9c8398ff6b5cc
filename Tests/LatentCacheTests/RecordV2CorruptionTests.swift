import Foundation
import TensorFormats
import XCTest
@testable import LatentCache

/// Damage inside version 2 records with every checksum recomputed, so only the structure checks can
/// catch it: each case must give its own `corrupt` error, never a crash or wrong data.
final class RecordV2CorruptionTests: XCTestCase {
    var tmp: TempDir!
    var path: String!
    var partDir: String!
    let L = 32

    override func setUpWithError() throws {
        tmp = TempDir()
        path = tmp.sub("cache")
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [8], vocab: 100, seed: 6)
        try corpus.build(at: path, examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
        let cache = try LatentCacheDirectory.open(path)
        XCTAssertEqual(cache.manifest.version, 2)
        partDir = cache.parts[0].directory
    }

    /// Offsets of a version 2 record's sections.
    struct Layout {
        var W = 0, T = 0, R = 0
        var table = 0, sparse = 0, lists = 0, random = 0
        init(_ r: [UInt8]) {
            r.withUnsafeBytes { b in
                W = Int(b.u32(12)); T = Int(b.u32(16)); R = Int(b.u32(24))
                let Q = Int(b.u32(20)), H = Int(b.u32(28))
                table = 48 + 16 * Q + 4 * H
                sparse = table + 8 * W
                var o = sparse
                for _ in 0 ..< W { o += 1 + 3 * Int(b[o]) }
                lists = o
                random = r.count - 4 * R
            }
        }
    }

    /// Changes latent `latent`'s record in place (optionally declaring `lengthDelta` more or fewer bytes),
    /// then rewrites its index entry with the new length and a correct CRC.
    func rewriteRecord(_ latent: Int, lengthDelta: Int = 0, _ change: (inout [UInt8]) -> Void) throws {
        let part = try LatentCacheDirectory.open(path).parts[0]
        var e = try part.entry(latent)
        var d = try Data(contentsOf: URL(fileURLWithPath: partDir + "/records.bin"))
        let o = Int(e.recordOffset), n = Int(e.recordLength) + lengthDelta
        var r = [UInt8](d[o ..< o + n])
        change(&r)
        d.replaceSubrange(o ..< o + n, with: r)
        try d.write(to: URL(fileURLWithPath: partDir + "/records.bin"))
        e.recordLength = UInt32(n)
        e.recordCRC = CRC32.checksum(r)
        var w = ByteWriter()
        e.encode(into: &w)
        var idx = try Data(contentsOf: URL(fileURLWithPath: partDir + "/index.bin"))
        idx.replaceSubrange(64 + 64 * latent ..< 64 + 64 * (latent + 1), with: w.bytes)
        try idx.write(to: URL(fileURLWithPath: partDir + "/index.bin"))
    }

    func record(_ latent: Int) throws -> [UInt8] {
        let part = try LatentCacheDirectory.open(path).parts[0]
        let e = try part.entry(latent)
        let d = try Data(contentsOf: URL(fileURLWithPath: partDir + "/records.bin"))
        return [UInt8](d[Int(e.recordOffset) ..< Int(e.recordOffset) + Int(e.recordLength)])
    }

    /// Reading `latent` fails with `corrupt` naming the latent and containing `text`; other latents still read.
    func assertCorrupt(_ latent: Int, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let part = try LatentCacheDirectory.open(path).parts[0]
        XCTAssertThrowsError(try part.record(latent), file: file, line: line) { err in
            guard case CacheError.corrupt(let p, let reason) = err else { return XCTFail("\(err)", file: file, line: line) }
            XCTAssertTrue(p.hasSuffix("records.bin"), file: file, line: line)
            XCTAssertTrue(reason.contains("latent \(latent)") && reason.contains(text), reason, file: file, line: line)
        }
        XCTAssertNoThrow(try part.record(latent == 0 ? 2 : 0), file: file, line: line)
    }

    /// Latent 1 fires on every token: every window has L nonzero activations.
    let dense = 1
    /// A latent firing on some tokens, with windows, top list and random windows.
    func sparseLatent() throws -> Int {
        let part = try LatentCacheDirectory.open(path).parts[0]
        return try XCTUnwrap((2 ..< 8).first { let s = try? part.statistics($0); return (s?.activeWindowCount ?? 0) > 0 && (s?.activeWindowCount ?? 4) < 4 })
    }

    func testTruncatedRecord() throws {
        let l = try sparseLatent()
        try rewriteRecord(l, lengthDelta: -1) { _ in }
        try assertCorrupt(l, "sections add up")
    }

    func testTrailingByte() throws {
        try rewriteRecord(dense, lengthDelta: 1) { _ in }
        try assertCorrupt(dense, "sections add up")
    }

    func testRecordCutInsideTheActivations() throws {
        let r = try record(dense)
        let cut = Layout(r).sparse + 10
        try rewriteRecord(dense, lengthDelta: cut - r.count) { _ in }
        try assertCorrupt(dense, "the activations of window 0 needs")
    }

    func testCountAboveWindowLength() throws {
        try rewriteRecord(dense) { r in
            let s = Layout(r).sparse
            XCTAssertEqual(Int(r[s]), self.L)
            r[s] = UInt8(self.L + 1)
        }
        try assertCorrupt(dense, "nonzero count of 33, more than the window length 32")
    }

    func testCountThatDoesNotMatchTheData() throws {
        // One fewer nonzero than stored: the positions/values shift and the sizes no longer add up.
        try rewriteRecord(dense) { r in r[Layout(r).sparse] -= 1 }
        let part = try LatentCacheDirectory.open(path).parts[0]
        XCTAssertThrowsError(try part.record(dense)) { err in
            guard case CacheError.corrupt = err else { return XCTFail("\(err)") }
        }
    }

    func testPositionsNotAscending() throws {
        try rewriteRecord(dense) { r in
            let s = Layout(r).sparse
            XCTAssertEqual([r[s + 1], r[s + 2]], [0, 1])
            r.swapAt(s + 1, s + 2)
        }
        try assertCorrupt(dense, "not strictly ascending")
    }

    func testRepeatedPosition() throws {
        try rewriteRecord(dense) { r in let s = Layout(r).sparse; r[s + 2] = r[s + 1] }
        try assertCorrupt(dense, "position 0 after 0")
    }

    func testPositionBeyondWindow() throws {
        try rewriteRecord(dense) { r in let s = Layout(r).sparse; r[s + self.L] = UInt8(self.L) }
        try assertCorrupt(dense, "position 32 after 30")
    }

    func testZeroAndNegativeValues() throws {
        let r0 = try record(dense)
        let valueAt = Layout(r0).sparse + 1 + L
        try rewriteRecord(dense) { r in r[valueAt] = 0; r[valueAt + 1] = 0 }
        try assertCorrupt(dense, "activation bits 0x0000 at position 0")
        try rewriteRecord(dense) { r in r[valueAt] = 0; r[valueAt + 1] = 0xBC }   // −1.0
        try assertCorrupt(dense, "activation bits 0xbc00")
        try rewriteRecord(dense) { r in r[valueAt] = 0; r[valueAt + 1] = 0x7C }   // +infinity
        try assertCorrupt(dense, "not a finite value > 0")
    }

    func testWindowIndexOutOfRange() throws {
        let W = Layout(try record(dense)).W
        try rewriteRecord(dense) { r in
            let lay = Layout(r)
            XCTAssertGreaterThan(lay.T, 0)
            r[lay.lists] = UInt8(lay.W); r[lay.lists + 1] = 0
        }
        try assertCorrupt(dense, "window index \(W) out of range (window table has \(W))")
        // The last quantile index (u16 before the random list).
        try rewriteRecord(dense) { r in
            let lay = Layout(r)
            r[lay.lists] = 0
            r[lay.random - 2] = 0xFF; r[lay.random - 1] = 0xFF
        }
        try assertCorrupt(dense, "window index 65535 out of range")
    }

    func testWindowNumberOutsideTheTokenStore() throws {
        // 4 rows × 32 tokens = 4 windows: window number 4 starts past the end.
        try rewriteRecord(dense) { r in r[Layout(r).table] = 4 }
        try assertCorrupt(dense, "window 0 is window number 4, outside the 128-token store")
        let l = try sparseLatent()
        try rewriteRecord(l) { r in
            let lay = Layout(r)
            XCTAssertGreaterThan(lay.R, 0)
            r[lay.random] = 0xFF; r[lay.random + 3] = 0xFF
        }
        try assertCorrupt(l, "random window 0 is window number 4278190335")
    }

    func testHeaderFieldsChecked() throws {
        try rewriteRecord(dense) { r in r[36] = 2 }
        try assertCorrupt(dense, "unknown flags 0x00000002")
        try rewriteRecord(dense) { r in r[36] = 0; r[8] = 0 }
        try assertCorrupt(dense, "window length 0, expected 1…255")
        try rewriteRecord(dense) { r in r[8] = 0; r[9] = 1 }
        try assertCorrupt(dense, "window length 256")
        try rewriteRecord(dense) { r in r[8] = 32; r[9] = 0; r[4] = 7 }
        try assertCorrupt(dense, "belongs to latent 7")
    }

    func testTokenWidthAndManifestChecked() throws {
        // tokens.bin field4 (offset 48) = 3 with a valid header CRC.
        let file = path + "/tokens.bin"
        var d = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertEqual(d[48], 2)
        d[48] = 3
        let crc = d.prefix(60).withUnsafeBytes { CRC32.checksum($0) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0 ..< 4 { d[60 + i] = $0[i] } }
        try d.write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.corrupt(let p, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(p, file)
            XCTAssertTrue(reason.contains("token width 3"), reason)
        }
        // A 4-byte width the file is too short for.
        d[48] = 4
        let crc4 = d.prefix(60).withUnsafeBytes { CRC32.checksum($0) }
        withUnsafeBytes(of: crc4.littleEndian) { for i in 0 ..< 4 { d[60 + i] = $0[i] } }
        try d.write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.truncated(let p, _, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(p, file)
        }
    }

    func testManifestTokenWidthMustMatch() throws {
        let m = path + "/manifest.json"
        let text = try String(contentsOfFile: m, encoding: .utf8)
        XCTAssertTrue(text.contains("\"bytesPerToken\" : 2"))
        try text.replacingOccurrences(of: "\"bytesPerToken\" : 2", with: "\"bytesPerToken\" : 4").write(toFile: m, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.invalidManifest(_, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(reason.contains("4 bytes per token"), reason)
        }
        try text.replacingOccurrences(of: "\"bytesPerToken\" : 2,", with: "").write(toFile: m, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.invalidManifest = err else { return XCTFail("\(err)") }
        }
    }
}
