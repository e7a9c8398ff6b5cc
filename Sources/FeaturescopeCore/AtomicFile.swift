import Foundation

/// Errors raised by the shared file helpers.
public enum FileIOError: Error, CustomStringConvertible {
    case writeFailed(path: String, reason: String)
    case readFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .writeFailed(let path, let reason): return "cannot write \(path): \(reason)"
        case .readFailed(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}

/// Atomic whole-file writes: data goes to a temporary file in the same folder,
/// is flushed, then renamed over the destination, so a reader (or a crash)
/// never sees a half-written file.
public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating parent folders as needed.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw FileIOError.writeFailed(path: path, reason: "cannot create folder \(dir.path): \(error.localizedDescription)")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw FileIOError.writeFailed(path: path, reason: "cannot create temporary file \(tmp.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: tmp)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw FileIOError.writeFailed(path: path, reason: error.localizedDescription)
        }
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw FileIOError.writeFailed(path: path, reason: reason)
        }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Encodes `value` as pretty, key-sorted JSON and writes it atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try write(enc.encode(value), to: path)
    }
}
