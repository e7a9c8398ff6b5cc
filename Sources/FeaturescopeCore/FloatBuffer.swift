import Foundation

/// A fixed-size, zero-initialised, 64-byte-aligned Float buffer with a stable address.
///
/// The engine's scratch space and training's parameters, optimiser moments and scratch arrays live in
/// these, allocated once, so hot loops (BLAS, kernels) work on raw pointers without copy-on-write or
/// exclusivity checks.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { pointer.deallocate() }

    /// A copy of the contents.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public func zero() { pointer.update(repeating: 0, count: count) }

    /// The contents as raw little-endian bytes (for checkpoints and safetensors).
    public var data: Data { Data(bytes: pointer, count: count * 4) }

    /// True when every element is finite.
    public var allFinite: Bool {
        for i in 0 ..< count where !pointer[i].isFinite { return false }
        return true
    }
}

/// Σ a[i]·b[i] over n floats, 16 lanes at a time, in plain Swift (no BLAS: safe on any worker thread whatever
/// OpenBLAS's own threads do). The one dot product of the project (attention scores, logit lens, cosine rescoring).
@inlinable @inline(__always)
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let vecEnd = n & ~15
    var acc = SIMD16<Float>()
    for i in stride(from: 0, to: vecEnd, by: 16) {
        acc += ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
    }
    var s = acc.sum()
    for i in vecEnd ..< n { s += a[i] * b[i] }
    return s
}
