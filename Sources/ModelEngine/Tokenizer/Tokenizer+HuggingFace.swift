import Foundation

extension Tokenizer {
    /// Known `Split` regexes of `tokenizer.json` pre-tokenizers and their splitters.
    static let huggingFaceSplitPatterns: [String: PreTokenizer.Pattern] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 3),
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 1),
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2(isolateNumbers: false),
    ]

    /// Builds the tokenizer from a Hugging Face `tokenizer.json` (model `BPE`; pre-tokenizers
    /// ByteLevel, Split with the GPT-2 / Llama 3 / Qwen2 regex, Metaspace; normalizers NFC and
    /// Replace(" " → "▁"); added tokens; a TemplateProcessing post-processor's BOS). BOS/EOS
    /// names and the chat template come from a `tokenizer_config.json` beside it, if any.
    public convenience init(huggingFaceJSON path: String) throws {
        let source = path
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw TokenizerError.unsupportedJSON(detail: "cannot read tokenizer.json: \(error)", source: source)
        }
        func fail(_ detail: String) -> TokenizerError { .unsupportedJSON(detail: detail, source: source) }
        guard let model = root["model"] else { throw fail("'model' is missing") }
        let modelType = model["type"]?.string ?? "BPE"
        guard modelType == "BPE" else { throw TokenizerError.unsupportedModel(found: modelType, source: source) }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], !v.isNull, v.string != "" { throw fail("model.\(key) must be null") }
        }
        guard case let .object(vocab)? = model["vocab"] else { throw fail("model.vocab must be an object of token → id") }

        // The vocabulary, then the added tokens (which may extend it).
        var byId: [Int: String] = [:]
        for (text, v) in vocab {
            guard let id = v.int, id >= 0 else { throw fail("model.vocab['\(text)'] must be a non-negative id") }
            byId[id] = text
        }
        var types: [Int: Int] = [:]
        var normalizedAdded: Set<Int> = []
        var leftStripped: Set<Int> = [], rightStripped: Set<Int> = []
        for (index, entry) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let id = entry["id"]?.int, id >= 0, let content = entry["content"]?.string else {
                throw fail("added_tokens[\(index)] needs an integer 'id' and a string 'content'")
            }
            if entry["single_word"]?.bool == true {
                throw fail("added_tokens[\(index)] ('\(content)') sets single_word, which is not supported")
            }
            if entry["lstrip"]?.bool == true { leftStripped.insert(id) }
            if entry["rstrip"]?.bool == true { rightStripped.insert(id) }
            byId[id] = content
            types[id] = entry["special"]?.bool == true ? TokenType.control.rawValue : TokenType.userDefined.rawValue
            if entry["normalized"]?.bool ?? (entry["special"]?.bool != true) { normalizedAdded.insert(id) }
        }
        let count = (byId.keys.max() ?? -1) + 1
        var tokens = [String](repeating: "", count: count)
        var typeList = [Int](repeating: TokenType.normal.rawValue, count: count)
        for (id, text) in byId { tokens[id] = text }
        for id in 0 ..< count where byId[id] == nil { typeList[id] = TokenType.unused.rawValue }

        // Pipeline parts.
        var spec = Spec(tokens: tokens, algorithm: .characterBPE, source: source)
        spec.huggingFaceAddedTokens = true
        spec.normalizedSpecials = normalizedAdded
        spec.leftStripped = leftStripped
        spec.rightStripped = rightStripped
        spec.normalizer = try Self.huggingFaceNormalizer(root["normalizer"], fail: fail)
        try Self.applyHuggingFacePreTokenizer(root["pre_tokenizer"], to: &spec, fail: fail)
        if spec.algorithm == .characterBPE, model["byte_fallback"]?.bool == true {
            for (id, text) in byId where types[id] == nil && text.count == 6 && text.hasPrefix("<0x") && text.hasSuffix(">") {
                typeList[id] = TokenType.byte.rawValue
            }
        }
        spec.ignoreMerges = model["ignore_merges"]?.bool ?? false
        var idByText: [String: Int] = [:]
        for (id, text) in byId { idByText[text] = id }
        if let unk = model["unk_token"]?.string {
            guard let id = idByText[unk] else { throw fail("model.unk_token '\(unk)' is not in the vocabulary") }
            spec.unknownId = id
            spec.unknownFallback = Int32(id)
            if types[id] == nil { typeList[id] = TokenType.unknown.rawValue; spec.unmatchedSpecials.insert(id) }
        }
        for (id, t) in types { typeList[id] = t }
        spec.types = typeList
        spec.merges = try Self.huggingFaceMerges(model["merges"], fail: fail)
        if let bos = try Self.huggingFaceTemplateBOS(root["post_processor"], fail: fail) {
            guard let id = idByText[bos] else { throw fail("post_processor token '\(bos)' is not in the vocabulary") }
            spec.bosId = id
            spec.addBosToken = true
        }
        try Self.readTokenizerConfig(besides: path, idByText: idByText, into: &spec)
        try self.init(spec: spec)
    }

    static func huggingFaceMerges(_ value: JSONValue?, fail: (String) -> TokenizerError) throws -> [(String, String)] {
        guard let list = value?.array else { return [] }
        var out: [(String, String)] = []
        out.reserveCapacity(list.count)
        for (rank, m) in list.enumerated() {
            if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                out.append((a, b))
            } else if let s = m.string, let space = s.dropFirst().firstIndex(of: " ") {
                out.append((String(s[..<space]), String(s[s.index(after: space)...])))
            } else {
                throw fail("model.merges[\(rank)] must be \"left right\" or [left, right]")
            }
        }
        return out
    }

    static func huggingFaceNormalizer(_ value: JSONValue?, fail: (String) -> TokenizerError) throws -> Normalizer {
        guard let value, !value.isNull else { return .none }
        switch value["type"]?.string {
        case "NFC":
            return .nfc
        case "Replace" where value["pattern"]?["String"]?.string == " " && value["content"]?.string == "▁":
            return .spacesToMetaspace
        case "Sequence":
            let parts = try (value["normalizers"]?.array ?? []).map { try huggingFaceNormalizer($0, fail: fail) }
                .filter { $0 != .none }
            if parts.isEmpty { return .none }
            if parts.count == 1 { return parts[0] }
            throw fail("normalizer: a Sequence of more than one supported normalizer is not supported")
        default:
            throw fail("normalizer '\(value["type"]?.string ?? "?")' is not supported (expected NFC or Replace(\" \" → \"▁\"))")
        }
    }

    static func applyHuggingFacePreTokenizer(_ value: JSONValue?, to spec: inout Spec,
                                             fail: (String) -> TokenizerError) throws {
        guard let value, !value.isNull else { return }
        switch value["type"]?.string {
        case "Sequence":
            for part in value["pretokenizers"]?.array ?? [] { try applyHuggingFacePreTokenizer(part, to: &spec, fail: fail) }
        case "ByteLevel":
            spec.algorithm = .byteLevelBPE
            if value["add_prefix_space"]?.bool == true { throw fail("pre_tokenizer ByteLevel add_prefix_space true is not supported") }
            if value["use_regex"]?.bool ?? true {
                spec.preTokenizer = PreTokenizer(pattern: .gpt2(isolateNumbers: false))
                spec.preTokenizerName = "gpt-2"
            }
        case "Split":
            if let regex = value["pattern"]?["Regex"]?.string {
                guard let pattern = huggingFaceSplitPatterns[regex], value["behavior"]?.string == "Isolated",
                      value["invert"]?.bool != true else {
                    throw fail("pre_tokenizer Split: only the GPT-2, Llama 3 and Qwen2 regexes with behavior Isolated are supported")
                }
                spec.preTokenizer = PreTokenizer(pattern: pattern)
                spec.preTokenizerName = pattern == .llama3(maxDigits: 1) ? "qwen2" : pattern == .llama3(maxDigits: 3) ? "llama3" : "gpt-2"
            } else if value["pattern"]?["String"]?.string == " ", spec.normalizer == .spacesToMetaspace {
                // The normalizer has already replaced every space: nothing to split.
            } else {
                throw fail("pre_tokenizer Split: unsupported pattern (expected a known regex, or \" \" after Replace(\" \" → \"▁\"))")
            }
        case "Metaspace":
            guard value["replacement"]?.string ?? "▁" == "▁", value["split"]?.bool != true else {
                throw fail("pre_tokenizer Metaspace: only replacement \"▁\" with split false is supported")
            }
            switch value["prepend_scheme"]?.string ?? (value["add_prefix_space"]?.bool == false ? "never" : "always") {
            case "first": spec.prependScheme = .first
            case "never": spec.prependScheme = .never
            default: spec.prependScheme = .always
            }
            spec.preTokenizerName = "metaspace"
        default:
            throw fail("pre_tokenizer '\(value["type"]?.string ?? "?")' is not supported (expected ByteLevel, Split, Metaspace, Sequence)")
        }
    }

    /// The token a TemplateProcessing post-processor puts before the text, if any.
    static func huggingFaceTemplateBOS(_ value: JSONValue?, fail: (String) -> TokenizerError) throws -> String? {
        guard let value, !value.isNull else { return nil }
        switch value["type"]?.string {
        case "Sequence":
            return try (value["processors"]?.array ?? []).compactMap { try huggingFaceTemplateBOS($0, fail: fail) }.first
        case "TemplateProcessing":
            var before: [String] = []
            var seenText = false
            for item in value["single"]?.array ?? [] {
                if let special = item["SpecialToken"]?["id"]?.string {
                    if seenText { throw fail("post_processor: tokens after the text (\(special)) are not supported") }
                    before.append(special)
                } else if item["Sequence"] != nil {
                    seenText = true
                }
            }
            if before.count > 1 { throw fail("post_processor: more than one token before the text is not supported") }
            return before.first
        case "ByteLevel":
            return nil
        default:
            throw fail("post_processor '\(value["type"]?.string ?? "?")' is not supported (expected TemplateProcessing, ByteLevel)")
        }
    }

    /// BOS/EOS names and the chat template from `tokenizer_config.json` in the same folder.
    static func readTokenizerConfig(besides path: String, idByText: [String: Int], into spec: inout Spec) throws {
        let configPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("tokenizer_config.json").path
        guard let data = FileManager.default.contents(atPath: configPath),
              let config = try? JSONDecoder().decode(JSONValue.self, from: data) else { return }
        func tokenId(_ key: String) -> Int? {
            guard let v = config[key] else { return nil }
            return (v.string ?? v["content"]?.string).flatMap { idByText[$0] }
        }
        if spec.bosId == nil { spec.bosId = tokenId("bos_token") }
        spec.eosId = tokenId("eos_token")
        if spec.paddingId == nil { spec.paddingId = tokenId("pad_token") }
        if let template = config["chat_template"]?.string {
            spec.chatTemplate = template
        } else if let list = config["chat_template"]?.array {
            spec.chatTemplate = list.first { $0["name"]?.string == "default" }?["template"]?.string ?? list.first?["template"]?.string
        }
    }
}
