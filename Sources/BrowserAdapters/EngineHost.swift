import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import TensorFormats
import TerminalUI

/// Loads the model and the cache's SAEs on first use and keeps them, for every adapter that needs
/// the live engine (head views, token splits, the prompt view). Thread-safe; a failed load is
/// remembered so the browser reports it instead of retrying on every key press.
public final class EngineHost: @unchecked Sendable {
    /// The model file: an explicit path, else the cache's recorded model path when it exists,
    /// else `ModelLocator`'s default.
    public let modelPath: String?
    /// The cache: its parts' SAEs are found by `SAELocation` (its parent, itself, the working directory).
    let cache: LatentCacheDirectory
    /// Tried first for the parts' SAEs (`browse --sae-root`): the folder their recorded paths are relative to, or
    /// the one holding the SAE folders.
    public let saeRoot: String?
    let saeInfos: [SAEInfo?]

    private let lock = NSLock()
    private let modelLock = NSLock()
    private var model: Result<(TransformerModel, Tokenizer), BrowserError>?
    private var saes: [Int: Result<SparseAutoencoder, BrowserError>] = [:]
    private let lensLock = NSLock()
    private var lens: Result<DecoderLogitLens, BrowserError>?
    private var lensTokenizer: Result<Tokenizer, BrowserError>?

    public init(cache: LatentCacheDirectory, modelPath: String? = nil, saeRoot: String? = nil) {
        self.cache = cache
        self.saeRoot = saeRoot
        saeInfos = cache.parts.map(\.sae)
        if let m = modelPath {
            self.modelPath = m
        } else if let recorded = cache.manifest.metadata.modelPath, FileManager.default.fileExists(atPath: recorded) {
            self.modelPath = recorded
        } else {
            self.modelPath = nil
        }
    }

    /// The model's shape, read from its GGUF metadata or config.json (no weights loaded); nil when no model is found.
    public func modelConfig() -> ModelConfig? {
        guard let path = try? ModelLocator.locate(explicit: modelPath) else { return nil }
        return try? ModelConfig(modelAt: path)
    }

    /// The model and its tokenizer (loaded once; ~1 s).
    public func loadModel() throws -> (model: TransformerModel, tokenizer: Tokenizer) {
        try modelLock.withLock {
            if let m = model { return try m.get() }
            let result: Result<(TransformerModel, Tokenizer), BrowserError>
            do {
                let path = try ModelLocator.locate(explicit: modelPath)
                result = .success(try TransformerModel.loadWithTokenizer(path: path))
            } catch let e as EngineError {
                result = .failure(BrowserError("model: \(e)"))
            } catch {
                result = .failure(BrowserError("model: \(error)"))
            }
            model = result
            return try result.get()
        }
    }

    /// The decoder logit lens over the model file or Hugging Face folder (memory-mapped, not loaded as a model;
    /// opened once).
    public func logitLens() throws -> DecoderLogitLens {
        try lensLock.withLock {
            if let l = lens { return try l.get() }
            let result: Result<DecoderLogitLens, BrowserError>
            do {
                let path = try ModelLocator.locate(explicit: modelPath)
                result = .success(try DecoderLogitLens(tensors: try ModelTensors(modelAt: path)))
            } catch let e as BrowserError {
                result = .failure(BrowserError("model: \(e.message)"))
            } catch {
                result = .failure(BrowserError("model: \(error)"))
            }
            lens = result
            return try result.get()
        }
    }

    /// The model's tokenizer: the loaded model's when there is one, else read from the model file once.
    public func tokenizer() throws -> Tokenizer {
        if let m = modelLock.withLock({ model }), case let .success((_, t)) = m { return t }
        return try lensLock.withLock {
            if let t = lensTokenizer { return try t.get() }
            let r: Result<Tokenizer, BrowserError>
            do {
                r = .success(try Tokenizer(modelAt: try ModelLocator.locate(explicit: modelPath)))
            } catch {
                r = .failure(BrowserError("tokenizer: \(error)"))
            }
            lensTokenizer = r
            return try r.get()
        }
    }

    /// Where the SAE of `part` lives, when the cache names one and it is found (`SAELocation`).
    public func saeFolder(part: Int) -> String? {
        guard part >= 0, part < saeInfos.count, saeInfos[part] != nil else { return nil }
        return try? cache.saeLocation(of: cache.parts[part], root: saeRoot)
    }

    /// True when the SAE folder of `part` is reachable (cheap: no loading).
    public func hasSAE(part: Int) -> Bool { saeFolder(part: part) != nil }

    /// The SAE of `part` (loaded once).
    public func sae(part: Int) throws -> SparseAutoencoder {
        if let r = lock.withLock({ saes[part] }) { return try r.get() }
        let result: Result<SparseAutoencoder, BrowserError>
        if part < 0 || part >= saeInfos.count {
            result = .failure(BrowserError("no part \(part)"))
        } else if saeInfos[part] == nil {
            result = .failure(BrowserError("the cache does not name an SAE for this part (imported without one)"))
        } else {
            do {
                let folder = try cache.saeLocation(of: cache.parts[part], root: saeRoot)
                do {
                    var loaded = try SparseAutoencoder.load(folder: folder)
                    // A TransformerLens hook_z SAE with folded value biases is adjusted to the engine's raw hook_z when
                    // the model is at hand; without one (a cache browsed on its own) only its weights are used.
                    if loaded.config.isHookZ, loaded.config.metadata.foldedValueBiases == true, let m = try? loadModel().model {
                        loaded = try loaded.prepared(for: m)
                    }
                    result = .success(loaded)
                } catch {
                    result = .failure(BrowserError("SAE \(folder): \(error)"))
                }
            } catch {
                result = .failure(BrowserError("\(error)"))
            }
        }
        lock.withLock { if saes[part] == nil { saes[part] = result } }
        return try (lock.withLock { saes[part] } ?? result).get()
    }

    /// Uses an SAE already in memory for `part` (tests, or a caller that loaded it).
    public func install(sae: SparseAutoencoder, part: Int) {
        lock.withLock { saes[part] = .success(sae) }
    }

    /// Uses a model already in memory (tests).
    public func install(model m: TransformerModel, tokenizer: Tokenizer) {
        modelLock.withLock { model = .success((m, tokenizer)) }
    }
}
