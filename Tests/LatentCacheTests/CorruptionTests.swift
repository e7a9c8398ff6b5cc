import Foundation
import TensorFormats
import XCTest
@testable import LatentCache

final class CorruptionTests: XCTestCase {
    var tmp: TempDir!
    var path: String!
    var partDir: String!

    override func setUpWithError() throws {
        tmp = TempDir()
        path = tmp.sub("cache")
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [8], vocab: 100, seed: 6)
        try corpus.build(at: path, examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
        partDir = try LatentCacheDirectory.open(path).parts[0].directory
    }

    func truncate(_ file: String, by n: Int) throws {
        let d = try Data(contentsOf: URL(fileURLWithPath: file))
        try d.prefix(d.count - n).write(to: URL(fileURLWithPath: file))
    }

    func testTruncatedRecordsFile() throws {
        try truncate(partDir + "/records.bin", by: 10)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.truncated(let p, _, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(p.hasSuffix("records.bin"))
        }
    }

    func testTruncatedIndexAndTokens() throws {
        try truncate(partDir + "/index.bin", by: 64)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.truncated(let p, _, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(p.hasSuffix("index.bin"))
        }
        try truncate(path + "/tokens.bin", by: 4)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.truncated(let p, _, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(p.hasSuffix("tokens.bin"))
        }
        try Data().write(to: URL(fileURLWithPath: path + "/tokens.bin"))
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.truncated = err else { return XCTFail("\(err)") }
        }
    }

    func testWrongVersion() throws {
        // Binary header: version 3 with a correct header CRC → version error, not checksum error.
        let file = partDir + "/index.bin"
        try setHeaderVersion(file, 3)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            XCTAssertEqual(err as? CacheError, .unsupportedVersion(path: file, found: 3, supported: 2))
        }
        // A readable version that is not the cache's: the file does not belong to this cache.
        try setHeaderVersion(file, 1)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.corrupt(let p, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(p, file)
            XCTAssertTrue(reason.contains("format version 1") && reason.contains("is version 2"), reason)
        }
    }

    /// Rewrites the version field of a file header, with a valid header CRC.
    func setHeaderVersion(_ file: String, _ version: UInt8) throws {
        var d = try Data(contentsOf: URL(fileURLWithPath: file))
        d[8] = version
        let crc = d.prefix(60).withUnsafeBytes { CRC32.checksum($0) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0 ..< 4 { d[60 + i] = $0[i] } }
        try d.write(to: URL(fileURLWithPath: file))
    }

    func testWrongManifestVersion() throws {
        let m = path + "/manifest.json"
        let original = try String(contentsOfFile: m, encoding: .utf8)
        XCTAssertTrue(original.contains("\"version\" : 2"))
        try original.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 7").write(toFile: m, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            XCTAssertEqual(err as? CacheError, .unsupportedVersion(path: m, found: 7, supported: 2))
        }
        // A version 2 cache whose manifest claims version 1: the files say otherwise.
        try original.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 1").write(toFile: m, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.corrupt(let p, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(p.hasSuffix("tokens.bin"), p)
            XCTAssertTrue(reason.contains("format version 2"), reason)
        }
    }

    func testWrongMagic() throws {
        try patchFile(partDir + "/records.bin", at: 0) { $0 = UInt8(ascii: "X") }
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.badMagic(_, let found, _) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(found, "XSLC")
        }
        XCTAssertThrowsError(try LatentCacheDirectory.open(tmp.sub("nowhere"))) { err in
            guard case CacheError.cannotOpen = err else { return XCTFail("\(err)") }
        }
    }

    func testFlippedIndexBytes() throws {
        // Entry of latent 4, its max-activation field.
        try patchFile(partDir + "/index.bin", at: 64 + 64 * 4 + 33) { $0 ^= 0x10 }
        let part = try LatentCacheDirectory.open(path).parts[0]
        XCTAssertNoThrow(try part.summary(3))
        XCTAssertThrowsError(try part.summary(4)) { err in
            guard case CacheError.checksumMismatch(_, let what, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(what, "index entry of latent 4")
        }
        XCTAssertThrowsError(try part.record(4))
        // A flipped header byte is caught at open.
        try patchFile(partDir + "/index.bin", at: 20) { $0 ^= 0x01 }
        XCTAssertThrowsError(try LatentCacheDirectory.open(path)) { err in
            guard case CacheError.checksumMismatch(_, let what, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(what, "the file header")
        }
    }

    func testOffsetOutOfRange() throws {
        // Rewrite latent 2's entry with an offset past the end and a valid entry CRC.
        let part = try LatentCacheDirectory.open(path).parts[0]
        var e = try part.entry(2)
        e.recordOffset = 1 << 40
        var w = ByteWriter()
        e.encode(into: &w)
        var d = try Data(contentsOf: URL(fileURLWithPath: partDir + "/index.bin"))
        d.replaceSubrange(64 + 64 * 2 ..< 64 + 64 * 3, with: w.bytes)
        try d.write(to: URL(fileURLWithPath: partDir + "/index.bin"))
        let reopened = try LatentCacheDirectory.open(path).parts[0]
        XCTAssertThrowsError(try reopened.record(2)) { err in
            guard case CacheError.offsetOutOfRange(_, let what, let off, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(what, "record of latent 2")
            XCTAssertEqual(off, 1 << 40)
        }
        XCTAssertNoThrow(try reopened.record(1))
        XCTAssertThrowsError(try reopened.record(8)) { err in
            XCTAssertEqual(err as? CacheError, .latentOutOfRange(latent: 8, latentCount: 8))
        }
    }

    func testRecordWithBadInternalSizes() throws {
        // A record whose window count lies, with CRCs recomputed so only the structure check can catch it.
        let part = try LatentCacheDirectory.open(path).parts[0]
        let l = try (0 ..< 8).first { try part.statistics($0).activeWindowCount > 0 }!
        var e = try part.entry(l)
        var d = try Data(contentsOf: URL(fileURLWithPath: partDir + "/records.bin"))
        let o = Int(e.recordOffset)
        d[o + 12] &+= 1
        e.recordCRC = d[o ..< o + Int(e.recordLength)].withUnsafeBytes { CRC32.checksum($0) }
        try d.write(to: URL(fileURLWithPath: partDir + "/records.bin"))
        var w = ByteWriter()
        e.encode(into: &w)
        var idx = try Data(contentsOf: URL(fileURLWithPath: partDir + "/index.bin"))
        idx.replaceSubrange(64 + 64 * l ..< 64 + 64 * (l + 1), with: w.bytes)
        try idx.write(to: URL(fileURLWithPath: partDir + "/index.bin"))
        XCTAssertThrowsError(try LatentCacheDirectory.open(path).parts[0].record(l)) { err in
            guard case CacheError.corrupt(_, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(reason.contains("latent \(l)"), reason)
        }
    }

    func testVerifyFindsTokenDamage() throws {
        try patchFile(path + "/tokens.bin", at: 64 + 5) { $0 ^= 0x01 }
        let cache = try LatentCacheDirectory.open(path)   // O(1) open does not read token data
        XCTAssertThrowsError(try cache.verify()) { err in
            guard case CacheError.checksumMismatch(_, let what, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertEqual(what, "token data")
        }
    }
}
