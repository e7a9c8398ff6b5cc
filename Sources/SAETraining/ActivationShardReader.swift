import Foundation
import TensorFormats

/// Read access to a stored hook's activations: all shards memory-mapped, addressed by a
/// global token index. Resident memory grows only with the pages actually read.
public final class HookActivations: @unchecked Sendable {
    public let hook: String
    public let dIn: Int
    /// Total activation vectors across shards.
    public let tokenCount: Int
    private let files: [MappedFile]
    /// Global index of the first token of each shard, plus the total at the end.
    private let starts: [Int]

    init(directory: String, manifest: ActivationManifest, hook: ActivationManifest.Hook) throws {
        self.hook = hook.name
        dIn = hook.dIn
        var files: [MappedFile] = []
        var starts: [Int] = [0]
        for s in manifest.shards {
            let path = directory + "/" + ActivationManifest.shardPath(hook: hook.name, index: s.index)
            let f: MappedFile
            do { f = try MappedFile(path: path) } catch {
                throw TrainingError.invalidStore(path: path, reason: "cannot open shard: \(error)")
            }
            guard f.count == s.tokens * hook.dIn * 2 else {
                throw TrainingError.invalidStore(path: path, reason: "shard has \(f.count) bytes, expected \(s.tokens) × \(hook.dIn) halves = \(s.tokens * hook.dIn * 2)")
            }
            files.append(f)
            starts.append(starts[starts.count - 1] + s.tokens)
        }
        self.files = files
        self.starts = starts
        tokenCount = starts[starts.count - 1]
    }

    /// Shard number and row inside it for a global token index (binary search).
    @inline(__always) private func locate(_ i: Int) -> (Int, Int) {
        var lo = 0, hi = files.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= i { lo = mid } else { hi = mid - 1 }
        }
        return (lo, i - starts[lo])
    }

    /// Copies token `index` (0 ..< tokenCount) as Floats multiplied by `scale` into `out[0 ..< dIn]`.
    /// The index must be in range (checked by callers that take indices from outside).
    @inline(__always) public func copyToken(_ index: Int, scale: Float = 1, into out: UnsafeMutablePointer<Float>) {
        let (shard, row) = locate(index)
        guard let base = files[shard].base else { return }
        let src = base.advanced(by: row * dIn * 2).assumingMemoryBound(to: UInt16.self)
        HalfTable.convert(src, count: dIn, scale: scale, into: out)
    }

    /// Copies tokens `indices` into consecutive rows of `out` (row stride `dIn`).
    public func gather(_ indices: UnsafeBufferPointer<Int32>, scale: Float = 1, into out: UnsafeMutablePointer<Float>) {
        for (r, i) in indices.enumerated() {
            copyToken(Int(i), scale: scale, into: out + r * dIn)
        }
    }
}

/// Opens an activation store for reading.
public final class ActivationShardReader: @unchecked Sendable {
    public let directory: String
    public let manifest: ActivationManifest

    public init(directory: String) throws {
        self.directory = directory
        manifest = try ActivationManifest.load(directory: directory)
    }

    /// The memory-mapped activations of one hook.
    public func hook(_ name: String) throws -> HookActivations {
        guard let h = manifest.hooks.first(where: { $0.name == name }) else {
            throw TrainingError.unknownHook(path: directory, hook: name, available: manifest.hooks.map(\.name))
        }
        guard !manifest.shards.isEmpty else {
            throw TrainingError.invalidStore(path: directory, reason: "no committed shards yet")
        }
        return try HookActivations(directory: directory, manifest: manifest, hook: h)
    }
}

/// IEEE half → Float by table lookup (256 KiB table, built once): much faster than the
/// software conversion Swift emits for the baseline x86-64 target.
public enum HalfTable {
    public static let table: [Float] = (0 ... 0xFFFF).map { Float(Float16(bitPattern: UInt16($0))) }

    /// `out[i] = scale · half(src[i])`.
    @inline(__always) public static func convert(_ src: UnsafePointer<UInt16>, count: Int, scale: Float,
                                                 into out: UnsafeMutablePointer<Float>) {
        table.withUnsafeBufferPointer { t in
            for j in 0 ..< count { out[j] = t[Int(UInt16(littleEndian: src[j]))] * scale }
        }
    }
}
