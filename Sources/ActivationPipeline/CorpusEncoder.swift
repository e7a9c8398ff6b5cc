import Foundation
import ModelEngine

/// The tokenizer seam of `featurescope corpus`: text → token ids, the vocabulary and EOS.
public struct CorpusEncoder: Sendable {
    public let name: String
    public let vocabSize: Int
    public let eosTokenId: Int32
    public let encode: @Sendable (String) throws -> [Int32]

    /// Loads the tokenizer of the GGUF model at `modelPath`. Documents are encoded without
    /// BOS and with special-token text taken as plain text; EOS is the model's
    /// `tokenizer.ggml.eos_token_id`.
    public static func load(modelPath: String) throws -> CorpusEncoder {
        let path = try ModelLocator.locate(explicit: modelPath)
        let tokenizer = try Tokenizer(modelAt: path)
        guard let eos = tokenizer.eosId, tokenizer.isValid(eos) else {
            throw PipelineError.input("\(path): the tokenizer has no valid EOS token id; the corpus needs one")
        }
        let bos = tokenizer.addBosToken ? tokenizer.bosId : nil
        return CorpusEncoder(
            name: (path as NSString).lastPathComponent, vocabSize: tokenizer.vocabSize, eosTokenId: eos,
            encode: { text in
                let ids = tokenizer.encode(text, parseSpecial: false)
                if let bos, ids.first == bos { return Array(ids.dropFirst()) }
                return ids
            })
    }
}
