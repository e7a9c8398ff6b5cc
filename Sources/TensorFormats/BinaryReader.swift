/// A bounds-checked little-endian cursor over untrusted bytes.
///
/// Every read checks the remaining length first and throws `FormatError.truncated`
/// naming what was being read, so no file content can cause an out-of-bounds access.
public struct BinaryReader {
    public let buffer: UnsafeRawBufferPointer
    public let path: String
    /// Current offset from the start of `buffer`.
    public private(set) var offset: Int

    public init(_ buffer: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.buffer = buffer
        self.path = path
        self.offset = offset
    }

    /// Bytes left after the cursor.
    public var remaining: Int { buffer.count - offset }

    /// Throws unless `n` more bytes are available.
    public func require(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw FormatError.truncated(path: path, offset: offset, needed: n, available: remaining, what: what())
        }
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let v = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    public mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    public mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// Reads `n` raw bytes.
    public mutating func readBytes(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try require(n, what())
        let s = UnsafeRawBufferPointer(rebasing: buffer[offset ..< offset + n])
        offset += n
        return s
    }

    /// Reads `n` bytes as UTF-8 (invalid sequences are replaced, never trusted).
    public mutating func readString(_ n: Int, _ what: @autoclosure () -> String) throws -> String {
        let b = try readBytes(n, what())
        return String(decoding: b, as: UTF8.self)
    }

    public mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws {
        try require(n, what())
        offset += n
    }

    /// Moves the cursor to an absolute offset inside the buffer.
    public mutating func seek(to o: Int, _ what: @autoclosure () -> String) throws {
        guard o >= 0, o <= buffer.count else {
            throw FormatError.truncated(path: path, offset: o, needed: 0, available: 0, what: what())
        }
        offset = o
    }
}

/// Overflow-checked arithmetic for sizes that come from files.
public enum CheckedSize {
    /// Product of `dims`, or nil on overflow or a negative dimension.
    public static func product(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (r, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = r
        }
        return n
    }

    public static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }
}
