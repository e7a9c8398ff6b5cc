import Foundation
import TensorFormats

extension Tokenizer {
    /// The tokenizer of the model at `path`: a GGUF file's `tokenizer.*` metadata, or a Hugging Face folder's
    /// `tokenizer.json`.
    public convenience init(modelAt path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            let file = (path as NSString).appendingPathComponent("tokenizer.json")
            guard FileManager.default.fileExists(atPath: file) else {
                throw TokenizerError.missingMetadata(key: "tokenizer.json (the folder has none)", source: path)
            }
            try self.init(huggingFaceJSON: file)
        } else {
            try self.init(gguf: GGUFFile(path: path))
        }
    }
}

extension TransformerModel {
    /// The model at `path` (GGUF file or Hugging Face folder) and its tokenizer, a GGUF opened once.
    public static func loadWithTokenizer(path: String, decodeThreads: Int? = nil) throws -> (model: TransformerModel, tokenizer: Tokenizer) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EngineError.modelNotFound(path: path, hint: ModelLocator.fetchHint)
        }
        if isDir.boolValue {
            return (try TransformerModel(huggingFaceFolder: path, decodeThreads: decodeThreads), try Tokenizer(modelAt: path))
        }
        let gguf = try GGUFFile(path: path)
        return (try TransformerModel(gguf: gguf, decodeThreads: decodeThreads), try Tokenizer(gguf: gguf))
    }
}

extension TransformerModel {
    /// The name recorded in activation stores and SAE configs: the registry name when the file is a registered
    /// model's, else the file (without `.gguf`) or folder name.
    public var name: String {
        let file = (path as NSString).lastPathComponent
        if let registered = ModelRegistry.models.first(where: { $0.fileName == file }) { return registered.name }
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }
}

extension ModelConfig {
    /// The configuration of the model at `path` (GGUF metadata or a folder's `config.json`) without loading
    /// its weights.
    public init(modelAt path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            try self.init(huggingFaceConfig: (path as NSString).appendingPathComponent("config.json"))
        } else {
            try self.init(gguf: GGUFFile(path: path))
        }
    }
}
