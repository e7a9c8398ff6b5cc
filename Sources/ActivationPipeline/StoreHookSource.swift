import Foundation
import ModelEngine
import SAETraining

/// Activations read back from an activation store (`featurescope collect`) instead of a forward pass.
///
/// Row i of this source is stored row i, whose tokens are token-file row `manifest.fileRow(ofStoredRow: i)`
/// (`StoredTokenRows` lists them). The store holds f16 values, so codes can differ from a live pass in the third
/// significant digit.
public struct StoreHookSource: HookActivationSource {
    public let hooks: [HookPoint]
    public let directory: String
    public let manifest: ActivationManifest
    let stored: [HookActivations]
    public var name: String { directory }
    /// Tokens per stored row.
    public var contextLength: Int { manifest.contextSize }
    /// Rows held by the store.
    public var rowsAvailable: Int { manifest.rowsDone }

    /// The store in `directory` for `hooks`; `tokensPath` and `contextLength` are the token file the rows come
    /// from, checked against the store's manifest.
    public init(directory: String, hooks: [HookPoint], tokensPath: String, contextLength: Int, tokenFileRows: Int? = nil) throws {
        let reader = try ActivationShardReader(directory: directory)
        let m = reader.manifest
        guard m.contextSize == contextLength else {
            throw PipelineError.store(directory: directory, reason: "collected with context \(m.contextSize), the token file has rows of \(contextLength)")
        }
        guard URL(fileURLWithPath: m.tokensFile).lastPathComponent == URL(fileURLWithPath: tokensPath).lastPathComponent else {
            throw PipelineError.store(directory: directory, reason: "collected from \(m.tokensFile), not \(tokensPath)")
        }
        if let fileRows = m.fileRows, let tokenFileRows, fileRows != tokenFileRows {
            throw PipelineError.store(directory: directory, reason: "collected from a token file of \(fileRows) rows; \(tokensPath) has \(tokenFileRows)")
        }
        var seen = Set<HookPoint>()
        self.hooks = hooks.filter { seen.insert($0).inserted }
        stored = try self.hooks.map { try reader.hook($0.description) }
        self.directory = directory
        manifest = m
    }

    /// Values per token at each hook.
    public var widths: [Int] { stored.map(\.dIn) }

    public func activations(rows: [[Int32]], firstRow: Int) throws -> [[[Float]]] {
        guard firstRow >= 0, firstRow + rows.count <= rowsAvailable else {
            throw PipelineError.store(directory: directory,
                                      reason: "the store covers rows 0..<\(rowsAvailable), asked for \(firstRow)..<\(firstRow + rows.count)")
        }
        let ctx = contextLength
        return rows.indices.map { i in
            let row = firstRow + i
            return stored.map { h in
                var x = [Float](repeating: 0, count: ctx * h.dIn)
                x.withUnsafeMutableBufferPointer { buf in
                    guard let base = buf.baseAddress else { return }
                    for t in 0 ..< ctx { h.copyToken(row * ctx + t, into: base + t * h.dIn) }
                }
                return x
            }
        }
    }
}
