import FeaturescopeCore
import Foundation
import TensorFormats

/// Fixture draws on the project's generator (SplitMix64), for fixtures and seeded fuzzers.
extension SplitMix64 {
    /// Uniform Float in [lo, hi).
    public mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    /// `n` uniform Floats in [lo, hi).
    public mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0 ..< n).map { _ in float(lo, hi) }
    }

    /// Uniform Int in 0..<n (n > 0), by modulo (fixtures only).
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}

/// Little-endian byte encoders for fixture tensors.
public enum TensorBytes {
    public static func f32(_ v: [Float]) -> Data {
        var d = Data(capacity: 4 * v.count)
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    public static func f16(_ v: [Float]) -> Data {
        var d = Data(capacity: 2 * v.count)
        for x in v { withUnsafeBytes(of: HalfFloat.fromFloat(x).littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    public static func bf16(_ v: [Float]) -> Data {
        var d = Data(capacity: 2 * v.count)
        for x in v { withUnsafeBytes(of: HalfFloat.floatToBF16(x).littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    static func u16(_ v: UInt16, into d: inout Data) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }

    /// One Q4_0 block: f16 scale `d` and 32 quants 0…15; value = (q − 8)·d.
    public static func q4_0Block(scale: Float, quants q: [UInt8]) -> Data {
        precondition(q.count == 32, "fixture bug: a Q4_0 block holds 32 quants")
        var d = Data()
        u16(HalfFloat.fromFloat(scale), into: &d)
        for j in 0 ..< 16 { d.append((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4)) }
        return d
    }

    /// One Q4_1 block: f16 scale `d`, f16 min `m`, 32 quants 0…15; value = q·d + m.
    public static func q4_1Block(scale: Float, min m: Float, quants q: [UInt8]) -> Data {
        precondition(q.count == 32, "fixture bug: a Q4_1 block holds 32 quants")
        var d = Data()
        u16(HalfFloat.fromFloat(scale), into: &d)
        u16(HalfFloat.fromFloat(m), into: &d)
        for j in 0 ..< 16 { d.append((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4)) }
        return d
    }

    /// One Q8_0 block: f16 scale `d` and 32 signed quants; value = q·d.
    public static func q8_0Block(scale: Float, quants q: [Int8]) -> Data {
        precondition(q.count == 32, "fixture bug: a Q8_0 block holds 32 quants")
        var d = Data()
        u16(HalfFloat.fromFloat(scale), into: &d)
        for x in q { d.append(UInt8(bitPattern: x)) }
        return d
    }
}

/// Writes fixture bytes to a fresh file.
public enum FixtureFiles {
    /// A new empty temporary folder (removed by the caller or left to the OS).
    public static func temporaryFolder(_ label: String = "fixture") throws -> String {
        let path = NSTemporaryDirectory() + "featurescope-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `data` to `path` in place (no rename, no fsync): fixtures are scratch files, and
    /// fuzzers rewrite one file thousands of times. The file is overwritten from offset 0 and then
    /// cut to size, because truncating to zero first makes ext4 flush on every rewrite.
    public static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw FormatError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            var done = 0
            while done < b.count {
                guard let base = b.baseAddress else { break }
                let n = pwrite(fd, base + done, b.count - done, off_t(done))
                guard n > 0 else { throw FormatError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
                done += n
            }
        }
        guard ftruncate(fd, off_t(data.count)) == 0 else {
            throw FormatError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
