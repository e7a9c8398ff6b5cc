import Foundation
import TensorFormats

/// A model's tensors under llama.cpp's GGUF names (`output.weight`, `blk.3.attn_output.weight`, …), read from a
/// GGUF file or a Hugging Face folder (mapped and transformed as for loading: Gemma's `1 + w` norms, GPT-2's
/// transposed projections), without loading the model. For tools that need a few tensors, e.g. the browser's
/// decoder logit lens.
public final class ModelTensors: @unchecked Sendable {
    /// The file or folder.
    public var path: String { source.path }
    let source: any WeightSource

    /// The tensors of the model at `path` (GGUF file or Hugging Face folder).
    public convenience init(modelAt path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EngineError.modelNotFound(path: path, hint: ModelLocator.fetchHint)
        }
        if isDir.boolValue {
            self.init(source: try TransformerModel.folderSource(path).source)
        } else {
            try self.init(gguf: GGUFFile(path: path))
        }
    }

    /// The tensors of an open GGUF file (served as stored: q/k rows of `llama` files stay in llama.cpp's order,
    /// which matters only to readers of those two matrices).
    public convenience init(gguf: GGUFFile) {
        let architecture = (try? gguf.string("general.architecture")).flatMap(ModelArchitecture.init(rawValue:)) ?? .llama
        self.init(source: GGUFWeightSource(gguf: gguf, architecture: architecture))
    }

    init(source: any WeightSource) { self.source = source }

    /// Whether the model has tensor `name`.
    public func has(_ name: String) -> Bool { source.has(name) }
    /// GGUF-order dimensions of `name` (input width first).
    public func dims(_ name: String) throws -> [Int] { try source.dims(name) }
    /// All values of `name` as Float (vectors and small matrices).
    public func floats(_ name: String) throws -> [Float] { try source.floats(name) }
    /// The 2-D tensor `name` [out, in] in its stored precision.
    public func matrix(_ name: String) throws -> WeightMatrix { try source.matrix(name) }
}
