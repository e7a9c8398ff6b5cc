import Foundation

extension TransformerModel {
    /// Loads a Hugging Face model folder: `config.json`, `model.safetensors` (or shards with
    /// `model.safetensors.index.json`), and, where present, `generation_config.json` and `tokenizer.json` for the
    /// end-of-sequence and stop tokens. The tokenizer itself is not needed to load the model.
    public convenience init(huggingFaceFolder folder: String, decodeThreads: Int? = nil) throws {
        let start = Date()
        let (source, config, json) = try Self.folderSource(folder)
        let weights = try ModelWeights(source: source, config: config)
        let (eos, stops) = Self.folderStopTokens(folder: folder, config: json, vocabSize: config.vocabSize)
        self.init(path: folder, config: config, weights: weights, eosTokenID: eos, stopTokenIDs: stops,
                  decodeThreads: decodeThreads, loadStart: start)
    }

    /// The weight source, configuration and `config.json` of a Hugging Face model folder.
    static func folderSource(_ folder: String) throws -> (source: HFFolderWeightSource, config: ModelConfig, json: HFConfigJSON) {
        let configPath = folder + "/config.json"
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw EngineError.invalidModel(path: folder, reason: "a model folder needs config.json (Hugging Face layout)")
        }
        let json = try HFConfigJSON(path: configPath)
        let config = try ModelConfig(hf: json)
        let text = try json.optObject("text_config") ?? json
        let tied = try text.optBool("tie_word_embeddings") ?? json.optBool("tie_word_embeddings")
        return (try HFFolderWeightSource(folder: folder, config: config, tied: tied), config, json)
    }

    /// EOS: `generation_config.json`'s `eos_token_id`, else `config.json`'s (the first when a list), else the id
    /// `tokenizer.json` gives `tokenizer_config.json`'s `eos_token`; stops: all of those plus the ids `tokenizer.json`
    /// gives the usual end-of-turn texts. Ids outside the vocabulary are dropped.
    static func folderStopTokens(folder: String, config: HFConfigJSON, vocabSize: Int) -> (Int32?, Set<Int32>) {
        let generation = try? HFConfigJSON(path: folder + "/generation_config.json")
        let text = (try? config.optObject("text_config")) ?? nil
        var ids = generation?.tokenIDs("eos_token_id") ?? []
        if ids.isEmpty { ids = config.tokenIDs("eos_token_id") }
        if ids.isEmpty, let text { ids = text.tokenIDs("eos_token_id") }
        // Added tokens of tokenizer.json by text.
        var added: [String: Int] = [:]
        let fm = FileManager.default
        if let data = fm.contents(atPath: folder + "/tokenizer.json"),
           let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any],
           let tokens = dict["added_tokens"] as? [[String: Any]] {
            for token in tokens {
                if let content = token["content"] as? String, let id = (token["id"] as? NSNumber)?.intValue { added[content] = id }
            }
        }
        if let tc = try? HFConfigJSON(path: folder + "/tokenizer_config.json") {
            let eos = tc.values["eos_token"]
            let content = (eos as? String) ?? ((eos as? [String: Any])?["content"] as? String)
            if let content, let id = added[content], !ids.contains(id) { ids.append(id) }
        }
        ids = ids.filter { $0 >= 0 && $0 < vocabSize }
        var stops = Set(ids.compactMap { Int32(exactly: $0) })
        for text in stopTokenTexts {
            if let id = added[text], id >= 0, id < vocabSize, let id32 = Int32(exactly: id) { stops.insert(id32) }
        }
        return (ids.first.flatMap { Int32(exactly: $0) }, stops)
    }
}
