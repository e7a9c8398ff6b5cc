import FeaturescopeCore
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
    /// ByteLevel, Split with the GPT-2 / Llama 3 / Qwen2 regex, Digits, Metaspace; normalizers NFC and
    /// Replace(" " → "▁"); added tokens; a TemplateProcessing post-processor's BOS). BOS/EOS
    /// names and the chat template come from a `tokenizer_config.json` beside it, if any.
    public convenience init(huggingFaceJSON path: String) throws {
        let source = path
        let file: HuggingFaceTokenizerFile
        do {
            file = try JSONDecoder().decode(HuggingFaceTokenizerFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw TokenizerError.unsupportedJSON(detail: "cannot read tokenizer.json: \(error)", source: source)
        }
        func fail(_ detail: String) -> TokenizerError { .unsupportedJSON(detail: detail, source: source) }
        let model = file.model
        let modelType = model.type ?? "BPE"
        guard modelType == "BPE" else { throw TokenizerError.unsupportedModel(found: modelType, source: source) }
        if !(model.continuingSubwordPrefix ?? "").isEmpty { throw fail("model.continuing_subword_prefix must be null") }
        if !(model.endOfWordSuffix ?? "").isEmpty { throw fail("model.end_of_word_suffix must be null") }
        guard let vocab = model.vocab else { throw fail("model.vocab must be an object of token → id") }

        // The vocabulary, then the added tokens (which may extend it).
        var byId: [Int: String] = [:]
        byId.reserveCapacity(vocab.count)
        for (text, id) in vocab {
            guard id >= 0 else { throw fail("model.vocab['\(text)'] must be a non-negative id") }
            byId[id] = text
        }
        var types: [Int: Int] = [:]
        var normalizedAdded: Set<Int> = []
        var leftStripped: Set<Int> = [], rightStripped: Set<Int> = []
        for (index, entry) in (file.addedTokens ?? []).enumerated() {
            guard entry.id >= 0 else { throw fail("added_tokens[\(index)] has a negative id") }
            if entry.singleWord == true {
                throw fail("added_tokens[\(index)] ('\(entry.content)') sets single_word, which is not supported")
            }
            if entry.lstrip == true { leftStripped.insert(entry.id) }
            if entry.rstrip == true { rightStripped.insert(entry.id) }
            byId[entry.id] = entry.content
            let special = entry.special == true
            types[entry.id] = special ? TokenType.control.rawValue : TokenType.userDefined.rawValue
            if entry.normalized ?? !special { normalizedAdded.insert(entry.id) }
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
        spec.normalizer = try Self.huggingFaceNormalizer(file.normalizer, fail: fail)
        try Self.applyHuggingFacePreTokenizer(file.preTokenizer, to: &spec, fail: fail)
        if spec.algorithm == .characterBPE, model.byteFallback == true {
            for (id, text) in byId where types[id] == nil && text.count == 6 && text.hasPrefix("<0x") && text.hasSuffix(">") {
                typeList[id] = TokenType.byte.rawValue
            }
        }
        spec.ignoreMerges = model.ignoreMerges ?? false
        var idByText: [String: Int] = [:]
        for (id, text) in byId { idByText[text] = id }
        if let unk = model.unkToken {
            guard let id = idByText[unk] else { throw fail("model.unk_token '\(unk)' is not in the vocabulary") }
            spec.unknownId = id
            spec.unknownFallback = Int32(id)
            if types[id] == nil { typeList[id] = TokenType.unknown.rawValue; spec.unmatchedSpecials.insert(id) }
        }
        for (id, t) in types { typeList[id] = t }
        spec.types = typeList
        spec.merges = try model.merges?.pairs(fail: fail) ?? []
        if let bos = try Self.huggingFaceTemplateBOS(file.postProcessor, fail: fail) {
            guard let id = idByText[bos] else { throw fail("post_processor token '\(bos)' is not in the vocabulary") }
            spec.bosId = id
            spec.addBosToken = true
        }
        try Self.readTokenizerConfig(besides: path, idByText: idByText, into: &spec)
        try self.init(spec: spec)
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
            let isolated = spec.preTokenizer.pattern == .gpt2(isolateNumbers: true)  // after Digits
            if value["use_regex"]?.bool ?? true {
                spec.preTokenizer = PreTokenizer(pattern: .gpt2(isolateNumbers: isolated))
                spec.preTokenizerName = isolated ? "smollm" : "gpt-2"
            } else if isolated {
                throw fail("pre_tokenizer Digits must be followed by ByteLevel with use_regex true")
            }
        case "Digits":
            guard value["individual_digits"]?.bool == true, spec.preTokenizer.pattern == .whole else {
                throw fail("pre_tokenizer Digits: only individual_digits true, before ByteLevel, is supported")
            }
            spec.preTokenizer = PreTokenizer(pattern: .gpt2(isolateNumbers: true))
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
            throw fail("pre_tokenizer '\(value["type"]?.string ?? "?")' is not supported (expected ByteLevel, Split, Metaspace, Digits, Sequence)")
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

    /// BOS/EOS names and the chat template from `tokenizer_config.json` in the same folder
    /// (the template may instead be in `chat_template.jinja` or `chat_template.json`).
    static func readTokenizerConfig(besides path: String, idByText: [String: Int], into spec: inout Spec) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func file(_ name: String) -> Data? { FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) }
        if let data = file("chat_template.jinja") {
            spec.chatTemplate = String(decoding: data, as: UTF8.self)
        } else if let data = file("chat_template.json"), let json = try? JSONDecoder().decode(JSONValue.self, from: data) {
            spec.chatTemplate = json["chat_template"]?.string
        }
        guard let data = file("tokenizer_config.json"),
              let config = try? JSONDecoder().decode(JSONValue.self, from: data) else { return }
        func tokenId(_ key: String) -> Int? {
            guard let v = config[key] else { return nil }
            return (v.string ?? v["content"]?.string).flatMap { idByText[$0] }
        }
        if spec.bosId == nil { spec.bosId = tokenId("bos_token") }
        spec.eosId = tokenId("eos_token")
        if spec.paddingId == nil { spec.paddingId = tokenId("pad_token") }
        if spec.chatTemplate != nil {
            // chat_template.jinja / .json take precedence, as in transformers.
        } else if let template = config["chat_template"]?.string {
            spec.chatTemplate = template
        } else if let list = config["chat_template"]?.array {
            spec.chatTemplate = list.first { $0["name"]?.string == "default" }?["template"]?.string ?? list.first?["template"]?.string
        }
    }
}
