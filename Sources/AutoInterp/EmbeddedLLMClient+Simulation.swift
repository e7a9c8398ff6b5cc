import Foundation
import ModelEngine

extension EmbeddedLLMClient {
    /// OpenAI's "all at once" read-out in one forward pass: after `messages`, the assistant turn is
    /// `line₀<TAB>unknown⏎line₁<TAB>unknown⏎…`, and for each line the probabilities of `candidates` as the next
    /// token right after its tab (where the placeholder stands) are returned. Candidates that are not one token
    /// in the vocabulary get probability 0 (with per-digit vocabularies "10" folds into "1").
    public func placeholderProbabilities(_ messages: [ChatMessage], lines: [String], placeholder: String = "unknown",
                                         candidates: [String]) async throws -> [[Double]] {
        try await engine.perform { e in
            let ids: [Int32?] = candidates.map { try? e.candidateID($0) }
            var tokens = e.chatTokens(messages, assistantPrefix: "")
            var positions: [Int] = []
            for line in lines {
                tokens += e.tokenizer.encode(line + "\t", parseSpecial: false)
                positions.append(tokens.count - 1)
                tokens += e.tokenizer.encode(placeholder + "\n", parseSpecial: false)
            }
            guard tokens.count <= e.contextLength else {
                throw EmbeddedModelError.promptTooLong(tokens: tokens.count, limit: e.contextLength)
            }
            let r: ForwardResult
            do { r = try e.model.forward(tokens: tokens, logits: .positions(positions), int8Activations: e.int8Prompts) } catch {
                throw EmbeddedModelError.engine(String(describing: error))
            }
            return positions.indices.map { k in
                let row = r.logitsRow(k)
                let lse = row.withUnsafeBufferPointer { Logits.logSumExp($0) }
                return ids.map { id in
                    guard let id, lse.isFinite else { return 0 }
                    return Foundation.exp(Double(row[row.startIndex + Int(id)]) - lse)
                }
            }
        }
    }
}
