import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX calls under names that do not clash with methods of the same name.
@inline(__always) func posixClose(_ fd: Int32) { _ = close(fd) }
@inline(__always) func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
@inline(__always) func posixPread(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int, _ o: Int) -> Int { pread(fd, p, n, off_t(o)) }

/// Appends little-endian values to a growing byte array (used by every cache writer).
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    mutating func ascii(_ s: String) { bytes.append(contentsOf: Array(s.utf8)) }

    /// Overwrites 4 bytes at `offset`.
    mutating func patchU32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { b in for i in 0 ..< 4 { bytes[offset + i] = b[i] } }
    }
}

/// Unaligned little-endian loads from a buffer whose bounds the caller has checked.
extension UnsafeRawBufferPointer {
    @inline(__always) func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    @inline(__always) func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    @inline(__always) func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
    @inline(__always) func f32(_ o: Int) -> Float { Float(bitPattern: u32(o)) }
    /// Four bytes as text, non-printable bytes escaped (for magic-number messages).
    func fourCC(_ o: Int) -> String {
        var s = ""
        for i in 0 ..< 4 {
            let b = self[o + i]
            s += (b >= 0x20 && b < 0x7F) ? String(UnicodeScalar(b)) : String(format: "\\x%02x", b)
        }
        return s
    }
}

/// Overflow-checked conversions of numbers read from files.
enum Checked {
    /// `UInt64` → `Int`, nil when it does not fit.
    static func int(_ v: UInt64) -> Int? { v <= UInt64(Int.max) ? Int(v) : nil }
    static func add(_ a: Int, _ b: Int) -> Int? { let (r, o) = a.addingReportingOverflow(b); return o ? nil : r }
    static func mul(_ a: Int, _ b: Int) -> Int? { let (r, o) = a.multipliedReportingOverflow(by: b); return o ? nil : r }
}

/// A file opened for writing with a user-space buffer; `pwrite`/`fsync` wrappers with clear errors.
final class BufferedFileWriter {
    let path: String
    private(set) var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit: Int
    /// Bytes written so far, including what is still buffered.
    private(set) var length: Int

    /// Opens (creating) `path`; `truncateTo` cuts the file to that length first (nil = truncate to 0).
    init(path: String, keepingPrefix prefix: Int? = nil, bufferLimit: Int = 1 << 20) throws {
        self.path = path
        self.bufferLimit = bufferLimit
        let flags = O_WRONLY | O_CREAT | (prefix == nil ? O_TRUNC : 0)
        fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        let keep = prefix ?? 0
        if prefix != nil {
            var st = stat()
            guard fstat(fd, &st) == 0, Int(st.st_size) >= keep else {
                posixClose(fd)
                throw CacheError.resumeMismatch(path: path, reason: "file is shorter than its checkpoint (\(keep) bytes)")
            }
            guard ftruncate(fd, off_t(keep)) == 0 else {
                posixClose(fd)
                throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        }
        guard lseek(fd, off_t(keep), SEEK_SET) >= 0 else {
            posixClose(fd)
            throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        length = keep
        buffer.reserveCapacity(bufferLimit)
    }

    deinit { if fd >= 0 { posixClose(fd) } }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        length += bytes.count
        if buffer.count >= bufferLimit { try flush() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        length += bytes.count
        if buffer.count >= bufferLimit { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try FileUtil.writeAll(fd: fd, $0, path: path) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and fsyncs.
    func sync() throws {
        try flush()
        guard fsync(fd) == 0 else { throw CacheError.writeFailed(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
    }

    /// Writes bytes at an absolute offset (after flushing), e.g. to patch a header.
    func patch(_ bytes: [UInt8], at offset: Int) throws {
        try flush()
        try FileUtil.pwriteAll(fd: fd, bytes, offset: offset, path: path)
    }

    /// Flushes, fsyncs and closes the file.
    func finish() throws {
        try sync()
        posixClose(fd)
        fd = -1
    }
}

/// Small POSIX helpers with `CacheError`s.
enum FileUtil {
    /// The folder part of a path ("" for a bare name); plain string work, no Foundation path APIs.
    static func parent(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "" }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    /// The last component of a path.
    static func name(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: i)...])
    }

    static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
    }

    static func pwriteAll(fd: Int32, _ bytes: [UInt8], offset: Int, path: String) throws {
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = pwrite(fd, b.baseAddress! + done, b.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno)))
                }
                done += n
            }
        }
    }

    /// Reads exactly `count` bytes at `offset`; nil when the file is shorter.
    static func pread(fd: Int32, count: Int, offset: Int, path: String) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { b in
            while done < count {
                let n = posixPread(fd, b.baseAddress! + done, count - done, offset + done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CacheError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
                }
                if n == 0 { break }
                done += n
            }
        }
        return done == count ? out : nil
    }

    static func fileSize(fd: Int32) -> Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); posixClose(fd) }
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func makeDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw CacheError.writeFailed(path: path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    /// Writes a whole file and fsyncs it (not atomic; used inside a staging folder).
    static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let w = try BufferedFileWriter(path: path)
        try w.write(bytes)
        try w.finish()
    }
}
