import TensorFormats

/// Where a model's tensors come from, under llama.cpp's GGUF names (`blk.N.attn_q.weight`, …) with
/// matrices row-major [out, in]. GGUF files serve them directly; Hugging Face folders map and transform theirs.
protocol WeightSource {
    /// The file or folder, for messages.
    var path: String { get }
    /// Whether the tensor exists.
    func has(_ name: String) -> Bool
    /// GGUF-order dimensions (input width first) of `name`.
    func dims(_ name: String) throws -> [Int]
    /// All values of `name` as Float, row-major [out, in] (vectors: norms, biases; small matrices).
    func floats(_ name: String) throws -> [Float]
    /// The 2-D tensor `name` [out, in] in its stored precision (GGUF blocks, F32/F16/BF16), not copied where
    /// the source allows.
    func matrix(_ name: String) throws -> WeightMatrix
    /// Whether the q/k rows are in llama.cpp's adjacent-pair RoPE order (GGUF `llama` only).
    var permutedQK: Bool { get }
}

/// A GGUF file as a weight source.
struct GGUFWeightSource: WeightSource {
    let gguf: GGUFFile
    let architecture: ModelArchitecture

    var path: String { gguf.path }
    var permutedQK: Bool { architecture == .llama }
    func has(_ name: String) -> Bool { gguf.tensors[name] != nil }

    func dims(_ name: String) throws -> [Int] {
        guard let info = gguf.tensors[name] else { throw EngineError.invalidModel(path: path, reason: "missing tensor \(name)") }
        return info.dims
    }

    func floats(_ name: String) throws -> [Float] { try gguf.dequantize(name) }

    func matrix(_ name: String) throws -> WeightMatrix {
        let info = try gguf.info(name)
        guard info.dims.count == 2 else {
            throw EngineError.invalidModel(path: path, reason: "tensor \(name) has shape \(info.dims), expected a matrix")
        }
        let raw = try gguf.rawBytes(name)
        guard let base = raw.baseAddress else { throw EngineError.invalidModel(path: path, reason: "tensor \(name) is empty") }
        return WeightMatrix(type: info.type, rows: info.dims[1], cols: info.dims[0], base: base, owner: gguf.file)
    }
}
