import Foundation
import ModelEngine

/// Embeddings from the embedded model: the mean over a text's tokens of the residual stream leaving block
/// `layer` (default: the last block), the text tokenised without a chat template and cut to the model's
/// context. No separate embedding model is needed; `endpointName` records the pooling and the layer.
public struct EmbeddedTextEmbedder: TextEmbedder {
    public let client: EmbeddedLLMClient
    public let layer: Int
    public var modelName: String { client.modelName }
    public var endpointName: String { "embedded:mean-resid-post-\(layer)" }

    /// `layer` nil: the model's last block.
    public init(client: EmbeddedLLMClient, layer: Int? = nil) throws {
        let blocks = client.engine.model.config.layerCount
        let l = layer ?? blocks - 1
        guard (0 ..< blocks).contains(l) else {
            throw LLMClientError.invalidConfiguration("embedding layer \(l) is outside the model's blocks 0…\(blocks - 1)")
        }
        self.client = client
        self.layer = l
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        let layer = layer
        return try await client.engine.perform { e in
            let hook = HookPoint.residPost(layer)
            return try texts.map { text in
                var tokens = e.tokenizer.encode(text, parseSpecial: false)
                if tokens.count > e.contextLength { tokens = Array(tokens.prefix(e.contextLength)) }
                guard !tokens.isEmpty else { throw EmbeddedModelError.emptyText(what: "a text to embed") }
                let r: ForwardResult
                do { r = try e.model.forward(tokens: tokens, captures: [hook], logits: .none, int8Activations: e.int8Prompts) } catch {
                    throw EmbeddedModelError.engine(String(describing: error))
                }
                guard let x = r.activation(hook) else { throw EmbeddedModelError.engine("no activation at \(hook)") }
                let width = x.rowWidth
                var mean = [Float](repeating: 0, count: width)
                for t in 0 ..< tokens.count {
                    for j in 0 ..< width { mean[j] += x.data[t * width + j] }
                }
                let n = Float(tokens.count)
                return mean.map { $0 / n }
            }
        }
    }
}
