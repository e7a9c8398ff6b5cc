import FeaturescopeCore
import Foundation
import ModelEngine
import SAETraining

/// Options of `featurescope collect`.
public struct CollectionOptions: Sendable {
    /// Hook names, e.g. `blocks.3.attn.hook_z`.
    public var hooks: [String]
    public var outputDirectory: String
    /// Path of the token file as recorded in the manifest.
    public var tokensFile: String
    public var modelName: String
    /// Stop after this many tokens (whole rows; nil = the whole file).
    public var maxTokens: Int?
    /// Rows per forward pass.
    public var rowsPerForward: Int = 4
    /// Tokens per shard (rounded down to whole rows, at least one row).
    public var shardTokens: Int = 65536
    /// With --max-tokens below the file size: take rows evenly spaced over the whole file
    /// (true) or the first rows (false). Packed files keep documents in source order, so the
    /// first rows cover only the first sources.
    public var spreadRows: Bool = true
    public var showProgress: Bool = true

    public init(hooks: [String], outputDirectory: String, tokensFile: String, modelName: String) {
        self.hooks = hooks
        self.outputDirectory = outputDirectory
        self.tokensFile = tokensFile
        self.modelName = modelName
    }
}

/// What a collection run did.
public struct CollectionSummary: Codable, Equatable, Sendable {
    public var outputDirectory: String
    public var hooks: [String]
    public var dIn: [Int]
    public var contextSize: Int
    /// Rows and tokens stored in total (earlier runs included).
    public var rowsStored: Int
    public var tokensStored: Int
    /// Tokens processed by this invocation and its speed.
    public var tokensThisRun: Int
    public var seconds: Double
    public var tokensPerSecond: Double
    public var complete: Bool
    /// Bytes of shard files on disk, all hooks (f16).
    public var bytesOnDisk: Int
}

/// Runs the model over a token file and stores hook activations as f16 shards.
///
/// One forward pass per `rowsPerForward` rows captures every requested hook at once and stops
/// after the last block a hook needs (no logits). Memory is bounded by one shard per hook plus
/// one batch of activations. Interrupted runs resume after the last committed shard.
public enum ActivationCollector {
    public static func collect(model: TransformerModel, tokens: TokenRowSource,
                               options: CollectionOptions) throws -> CollectionSummary {
        guard !options.hooks.isEmpty else { throw TrainingError.invalidConfig("name at least one hook") }
        let hookPoints = try options.hooks.map { name -> HookPoint in
            do { return try HookPoint(name) } catch {
                throw TrainingError.invalidConfig("bad hook name '\(name)': \(error)")
            }
        }
        guard Set(hookPoints).count == hookPoints.count else {
            throw TrainingError.invalidConfig("a hook is named twice in \(options.hooks)")
        }
        let ctx = tokens.contextLength
        guard ctx > 0, tokens.rowCount > 0 else {
            throw TrainingError.invalidConfig("the token file has no rows")
        }
        guard ctx <= model.config.contextLength else {
            throw TrainingError.invalidConfig("token rows of \(ctx) exceed the model's context of \(model.config.contextLength)")
        }
        let wantRows: Int
        if let m = options.maxTokens {
            guard m >= ctx else { throw TrainingError.invalidConfig("--max-tokens \(m) is less than one row (\(ctx) tokens)") }
            wantRows = min(tokens.rowCount, m / ctx)
        } else {
            wantRows = tokens.rowCount
        }
        // One pass over a short prefix of the first row gives the hook widths.
        let source = EngineHookSource(model: model, hooks: hookPoints)
        let widths = try source.widths(probe: try tokens.tokens(ofRow: 0))
        let hooks = zip(hookPoints, widths).map { ActivationManifest.Hook(name: $0.description, dIn: $1) }
        let writer = try ActivationShardWriter(directory: options.outputDirectory, hooks: hooks,
                                               modelName: options.modelName, contextSize: ctx,
                                               tokensFile: options.tokensFile, rowsRequested: wantRows,
                                               shardRows: max(1, options.shardTokens / ctx),
                                               spreadOverFileRows: options.spreadRows && wantRows < tokens.rowCount ? tokens.rowCount : nil)
        let startRow = writer.nextRow
        let bar = ProgressBar(total: wantRows * ctx, label: "collect", unit: "tok", initial: startRow * ctx,
                              enabled: options.showProgress)
        let started = Date()
        var row = startRow
        while row < wantRows {
            let n = min(max(1, options.rowsPerForward), wantRows - row)
            var batch: [[Int32]] = []
            for r in row ..< row + n {
                let ids = try tokens.tokens(ofRow: writer.manifest.fileRow(ofStoredRow: r))
                guard ids.count == ctx else {
                    throw TrainingError.invalidConfig("token row \(r) has \(ids.count) ids, expected \(ctx)")
                }
                batch.append(ids)
            }
            for perHook in try source.activations(rows: batch, firstRow: row) {
                for (h, data) in perHook.enumerated() where data.count != ctx * hooks[h].dIn {
                    throw TrainingError.invalidConfig("the engine returned an activation of unexpected size for \(hookPoints[h])")
                }
                try withBuffers(perHook) { try writer.append(row: $0) }
            }
            row += n
            bar.update(row * ctx)
        }
        try writer.finish()
        bar.finish()
        let seconds = Date().timeIntervalSince(started)
        let m = writer.manifest
        return CollectionSummary(
            outputDirectory: options.outputDirectory, hooks: hooks.map(\.name), dIn: hooks.map(\.dIn),
            contextSize: ctx, rowsStored: m.rowsDone, tokensStored: m.totalTokens,
            tokensThisRun: (row - startRow) * ctx, seconds: seconds,
            tokensPerSecond: Double((row - startRow) * ctx) / max(seconds, 1e-9), complete: m.complete,
            bytesOnDisk: m.totalTokens * hooks.reduce(0) { $0 + $1.dIn } * 2)
    }

    /// Calls `body` with buffer pointers to every array (nested `withUnsafeBufferPointer`).
    static func withBuffers<R>(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) throws -> R) rethrows -> R {
        func go(_ i: Int, _ acc: [UnsafeBufferPointer<Float>]) throws -> R {
            if i == arrays.count { return try body(acc) }
            return try arrays[i].withUnsafeBufferPointer { try go(i + 1, acc + [$0]) }
        }
        return try go(0, [])
    }
}

