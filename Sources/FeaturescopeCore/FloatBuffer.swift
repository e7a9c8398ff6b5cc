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

/// Σ a[i]·b[i] over n floats with four running sums, in plain Swift (no BLAS: safe on any worker thread whatever
/// OpenBLAS's own threads do).
@inlinable
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    var i = 0
    while i + 4 <= n {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
        i += 4
    }
    while i < n { s0 += a[i] * b[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}
