import Foundation

/// A read-only memory-mapped file. The mapping lives as long as the object.
///
/// Pages are loaded lazily by the kernel, so opening a large file is cheap and
/// resident memory grows only with what is actually read.
public final class MappedFile: @unchecked Sendable {
    /// Path the file was opened from (for error messages).
    public let path: String
    /// Start of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?
    /// Size of the file in bytes.
    public let count: Int

    /// Maps `path` read-only.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw FormatError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw FormatError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError.cannotOpen(path: path, reason: "not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw FormatError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole file as a raw buffer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A checked sub-range of the file; throws `truncated` when it runs past the end.
    public func slice(offset: Int, count n: Int, what: String) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, n >= 0, offset <= count, n <= count - offset else {
            throw FormatError.truncated(path: path, offset: offset, needed: n, available: max(0, count - max(0, offset)), what: what)
        }
        return UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + n])
    }
}
