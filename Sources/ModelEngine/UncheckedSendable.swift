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
