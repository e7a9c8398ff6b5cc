/// A fixed-size heap buffer of Floats owned by one object: scratch space allocated once,
/// handed to BLAS and kernels as raw pointers without copy-on-write checks in hot loops.
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = max(count, 1)
        pointer = .allocate(capacity: self.count)
        pointer.initialize(repeating: 0, count: self.count)
    }

    deinit { pointer.deallocate() }

    /// A copy of the first `n` values.
    func array(_ n: Int, from start: Int = 0) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer + start, count: n))
    }
}

/// Wraps a value (typically a pointer) that is shared with worker threads which touch disjoint parts of it.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension Array where Element == Float {
    /// Calls `body` with a pointer to the elements (a pointer to one zero when the array is empty).
    @inline(__always)
    func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { b in
            if let p = b.baseAddress { return try body(p) }
            return try body(emptyFloatStorage.value)
        }
    }
}

/// Backing for `withPointer` on empty arrays.
private let emptyFloatStorage: UncheckedSendable<UnsafeMutablePointer<Float>> = {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UncheckedSendable(p)
}()
