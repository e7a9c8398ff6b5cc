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
    /// All values of `name` as Float, row-major [out, in].
    func floats(_ name: String) throws -> [Float]
    /// `name` in the single-token kernels' block form, rows taken in `rowOrder` (nil: as stored).
    func quantized(_ name: String, rowOrder: [Int]?) throws -> QuantizedMatrix
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

    func quantized(_ name: String, rowOrder: [Int]?) throws -> QuantizedMatrix {
        try QuantizedMatrix(gguf: gguf, name: name, rowOrder: rowOrder)
    }
}
