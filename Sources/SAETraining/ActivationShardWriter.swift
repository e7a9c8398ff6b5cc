import Foundation
import FeaturescopeCore
import TensorFormats

/// Appends activations to an activation store, one token-file row at a time.
///
/// Memory is bounded by one shard per hook (`shardRows × contextSize × d_in` halves).
/// A full shard is written to temporary files, renamed into place, and only then named
/// in the manifest (atomically rewritten), so an interrupted collection resumes from the
/// last committed shard: `rowsDone` says which token-file row to process next.
public final class ActivationShardWriter {
    public let directory: String
    public private(set) var manifest: ActivationManifest
    /// Rows per shard.
    public let shardRows: Int
    private var buffers: [[UInt16]]
    private var bufferedRows = 0

    /// Opens (or creates) the store at `directory`.
    ///
    /// When a manifest exists, it must describe the same hooks, model, context size and
    /// token file; collection then resumes after its last committed row. Shard files not
    /// named in the manifest (left by an interrupted run) are overwritten.
    public init(directory: String, hooks: [ActivationManifest.Hook], modelName: String, contextSize: Int,
                tokensFile: String, rowsRequested: Int, shardRows: Int, spreadOverFileRows fileRows: Int? = nil) throws {
        guard shardRows > 0 else { throw TrainingError.invalidConfig("shard rows must be positive") }
        guard !hooks.isEmpty else { throw TrainingError.invalidConfig("at least one hook is needed") }
        for h in hooks where !ActivationManifest.isSafeHookName(h.name) {
            throw TrainingError.invalidConfig("hook name '\(h.name)' may only contain letters, digits, '.', '_' and '-'")
        }
        self.directory = directory
        self.shardRows = shardRows
        let manifestPath = directory + "/" + ActivationManifest.fileName
        if FileManager.default.fileExists(atPath: manifestPath) {
            var old = try ActivationManifest.load(directory: directory)
            guard old.hooks == hooks else {
                throw TrainingError.resumeMismatch(path: manifestPath, reason: "stored hooks \(old.hooks.map(\.name)) differ from requested \(hooks.map(\.name))")
            }
            guard old.modelName == modelName, old.contextSize == contextSize else {
                throw TrainingError.resumeMismatch(path: manifestPath, reason: "stored model \(old.modelName) / context \(old.contextSize) differ from \(modelName) / \(contextSize)")
            }
            guard old.tokensFile == tokensFile else {
                throw TrainingError.resumeMismatch(path: manifestPath, reason: "activations came from \(old.tokensFile), not \(tokensFile)")
            }
            let oldSpread = old.rowSelection == "spread"
            guard oldSpread == (fileRows != nil) else {
                throw TrainingError.resumeMismatch(path: manifestPath, reason: "the store was collected with row selection '\(old.rowSelection ?? "contiguous")'")
            }
            if oldSpread {
                guard old.fileRows == fileRows, old.rowsRequested == rowsRequested else {
                    throw TrainingError.resumeMismatch(path: manifestPath, reason: "rows are spread over the file for \(old.rowsRequested) rows; the same --max-tokens is needed to resume")
                }
            } else {
                if rowsRequested > old.rowsRequested { old.complete = false }
                old.rowsRequested = max(rowsRequested, old.rowsDone)
            }
            manifest = old
        } else {
            manifest = ActivationManifest(modelName: modelName, contextSize: contextSize, tokensFile: tokensFile,
                                          hooks: hooks, shards: [], rowsDone: 0, rowsRequested: rowsRequested,
                                          complete: false, rowSelection: fileRows == nil ? "contiguous" : "spread",
                                          fileRows: fileRows)
        }
        for h in hooks {
            let dir = directory + "/" + h.name
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw TrainingError.invalidStore(path: dir, reason: "cannot create folder: \(error.localizedDescription)")
            }
        }
        buffers = hooks.map { h in
            var b = [UInt16]()
            b.reserveCapacity(shardRows * contextSize * h.dIn)
            return b
        }
        try manifest.save(directory: directory)
    }

    /// The next token-file row to store (rows before it are committed or buffered).
    public var nextRow: Int { manifest.rowsDone + bufferedRows }

    /// Buffers one token-file row: `activations[h]` holds `contextSize × d_in` floats of hook `h`.
    /// Writes a shard when the buffer is full.
    public func append(row activations: [UnsafeBufferPointer<Float>]) throws {
        guard activations.count == manifest.hooks.count else {
            throw TrainingError.invalidConfig("expected activations for \(manifest.hooks.count) hooks, got \(activations.count)")
        }
        for (h, a) in activations.enumerated() {
            let need = manifest.contextSize * manifest.hooks[h].dIn
            guard a.count == need else {
                throw TrainingError.invalidConfig("hook \(manifest.hooks[h].name): expected \(need) values per row, got \(a.count)")
            }
        }
        for (h, a) in activations.enumerated() {
            Self.appendHalves(a, to: &buffers[h])
        }
        bufferedRows += 1
        if bufferedRows >= shardRows { try flush() }
    }

    /// Writes the buffered rows (if any) as a new shard and commits it in the manifest.
    public func flush() throws {
        guard bufferedRows > 0 else { return }
        let index = manifest.shards.count
        for (h, hook) in manifest.hooks.enumerated() {
            let path = directory + "/" + ActivationManifest.shardPath(hook: hook.name, index: index)
            let data = buffers[h].withUnsafeBufferPointer { Data(buffer: $0) }
            try AtomicFile.write(data, to: path)
            buffers[h].removeAll(keepingCapacity: true)
        }
        manifest.shards.append(.init(index: index, firstRow: manifest.rowsDone, rows: bufferedRows,
                                     tokens: bufferedRows * manifest.contextSize))
        manifest.rowsDone += bufferedRows
        bufferedRows = 0
        try manifest.save(directory: directory)
    }

    /// Flushes and marks the store complete.
    public func finish() throws {
        try flush()
        manifest.complete = true
        try manifest.save(directory: directory)
    }

    /// Converts floats to IEEE half bits (round to nearest even) and appends them.
    static func appendHalves(_ a: UnsafeBufferPointer<Float>, to out: inout [UInt16]) {
        out.reserveCapacity(out.count + a.count)
        for v in a { out.append(Float16(v).bitPattern.littleEndian) }
    }
}
