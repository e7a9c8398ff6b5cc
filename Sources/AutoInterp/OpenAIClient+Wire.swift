import Foundation

/// JSON shapes of `/v1/chat/completions`, decoded leniently: only `choices[0].message.content`
/// is required; logprobs are used when present and well formed.
enum OpenAIWire {
    private struct RequestBody: Encodable {
        var model: String
        var messages: [ChatMessage]
        var temperature: Double
        var max_tokens: Int
        var logprobs: Bool?
        var top_logprobs: Int?
    }

    static func encodeRequest(_ r: ChatRequest, model: String) throws -> Data {
        let body = RequestBody(model: model, messages: r.messages, temperature: r.temperature,
                               max_tokens: r.maxTokens,
                               logprobs: r.topLogprobs > 0 ? true : nil,
                               top_logprobs: r.topLogprobs > 0 ? r.topLogprobs : nil)
        do {
            return try JSONEncoder().encode(body)
        } catch {
            throw LLMClientError.invalidConfiguration("cannot encode request: \(error)")
        }
    }

    private struct Alternative: Decodable { var token: String; var logprob: Double }
    private struct TokenEntry: Decodable {
        var token: String
        var logprob: Double
        var top_logprobs: [Alternative]?
    }
    private struct Logprobs: Decodable { var content: [TokenEntry]? }
    private struct Message: Decodable { var content: String? }
    private struct Choice: Decodable {
        var message: Message?
        var finishReason: String?
        var logprobs: Logprobs?
        enum CodingKeys: String, CodingKey { case message, finish_reason, logprobs }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            message = try c.decodeIfPresent(Message.self, forKey: .message)
            finishReason = try? c.decodeIfPresent(String.self, forKey: .finish_reason)
            logprobs = try? c.decodeIfPresent(Logprobs.self, forKey: .logprobs)
        }
    }
    private struct ErrorBody: Decodable { var message: String? }
    private struct Body: Decodable {
        var choices: [Choice]?
        var model: String?
        var error: ErrorBody?
        enum CodingKeys: String, CodingKey { case choices, model, error }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            choices = try c.decodeIfPresent([Choice].self, forKey: .choices)
            model = try? c.decodeIfPresent(String.self, forKey: .model)
            error = try? c.decodeIfPresent(ErrorBody.self, forKey: .error)
        }
    }

    static func decodeResponse(_ data: Data, endpoint: String, excerpt: (Data) -> String) throws -> ChatResponse {
        guard (try? JSONSerialization.jsonObject(with: data, options: [])) is [String: Any] else {
            throw LLMClientError.invalidJSON(endpoint: endpoint, bodyExcerpt: excerpt(data))
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw LLMClientError.missingField(endpoint: endpoint, field: path(ctx.codingPath + [key]))
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw LLMClientError.missingField(endpoint: endpoint, field: path(ctx.codingPath) + " (wrong type)")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw LLMClientError.missingField(endpoint: endpoint, field: path(ctx.codingPath))
        } catch {
            throw LLMClientError.invalidJSON(endpoint: endpoint, bodyExcerpt: excerpt(data))
        }
        if let err = body.error, body.choices == nil {
            throw LLMClientError.missingField(endpoint: endpoint,
                                              field: "choices (server error: \(err.message ?? "unknown"))")
        }
        guard let choice = body.choices?.first else {
            throw LLMClientError.missingField(endpoint: endpoint, field: "choices[0]")
        }
        guard let text = choice.message?.content else {
            throw LLMClientError.missingField(endpoint: endpoint, field: "choices[0].message.content")
        }
        let logprobs = choice.logprobs?.content?.map { e in
            TokenLogprob(token: e.token, logprob: e.logprob,
                         topAlternatives: (e.top_logprobs ?? []).map { TokenAlternative(token: $0.token, logprob: $0.logprob) })
        }
        return ChatResponse(text: text, logprobs: logprobs, finishReason: choice.finishReason, model: body.model)
    }

    private static func path(_ keys: [CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : "." + k.stringValue }
        }
        return s.isEmpty ? "(root)" : s
    }

    // MARK: - /v1/embeddings

    private struct EmbeddingRequest: Encodable {
        var model: String
        var input: [String]
        var encoding_format = "float"
    }

    static func encodeEmbeddingRequest(_ texts: [String], model: String) throws -> Data {
        do {
            return try JSONEncoder().encode(EmbeddingRequest(model: model, input: texts))
        } catch {
            throw LLMClientError.invalidConfiguration("cannot encode request: \(error)")
        }
    }

    private struct EmbeddingItem: Decodable {
        var embedding: [Float]
        var index: Int?
        enum CodingKeys: String, CodingKey { case embedding, index }
        /// One vector, or (llama-cpp-python with a model without pooling) one vector per token, mean-pooled here.
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            index = try c.decodeIfPresent(Int.self, forKey: .index)
            if let flat = try? c.decode([Float].self, forKey: .embedding) {
                embedding = flat
                return
            }
            let rows = try c.decode([[Float]].self, forKey: .embedding)
            let width = rows.first?.count ?? 0
            guard width > 0, rows.allSatisfy({ $0.count == width }) else { embedding = []; return }
            var mean = [Float](repeating: 0, count: width)
            for r in rows { for j in 0 ..< width { mean[j] += r[j] } }
            embedding = mean.map { $0 / Float(rows.count) }
        }
    }
    private struct EmbeddingBody: Decodable { var data: [EmbeddingItem]? }

    /// `data[i].embedding` (ordered by `index` when given; per-token vectors are mean-pooled), checked: `count`
    /// vectors of one non-zero length, every value finite.
    static func decodeEmbeddings(_ data: Data, count: Int, endpoint: String, excerpt: (Data) -> String) throws -> [[Float]] {
        let body: EmbeddingBody
        do { body = try JSONDecoder().decode(EmbeddingBody.self, from: data) } catch {
            throw LLMClientError.invalidJSON(endpoint: endpoint, bodyExcerpt: excerpt(data))
        }
        guard let items = body.data else { throw LLMClientError.missingField(endpoint: endpoint, field: "data") }
        let ordered = items.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }.map(\.element)
        guard ordered.count == count else {
            throw LLMClientError.missingField(endpoint: endpoint, field: "data (\(ordered.count) embeddings for \(count) inputs)")
        }
        let width = ordered.first?.embedding.count ?? 0
        guard width > 0, ordered.allSatisfy({ $0.embedding.count == width && $0.embedding.allSatisfy(\.isFinite) }) else {
            throw LLMClientError.missingField(endpoint: endpoint, field: "data[].embedding (one length, finite values)")
        }
        return ordered.map(\.embedding)
    }
}

// MARK: - /v1/completions with the prompt echoed (prompt log-probabilities)

extension OpenAIWire {
    private struct EchoRequest: Encodable {
        var model: String
        var prompt: String
        /// 1, not 0: llama-cpp-python reads max_tokens ≤ 0 as "until the context is full".
        var max_tokens = 1
        var temperature = 0.0
        var echo = true
        var logprobs: Int
    }

    static func encodeEchoRequest(_ prompt: String, model: String, topLogprobs: Int) throws -> Data {
        do {
            return try JSONEncoder().encode(EchoRequest(model: model, prompt: prompt, logprobs: max(1, topLogprobs)))
        } catch {
            throw LLMClientError.invalidConfiguration("cannot encode request: \(error)")
        }
    }

    /// The legacy completions shape: `choices[0].logprobs` = {tokens, text_offset, token_logprobs, top_logprobs},
    /// parallel arrays; `top_logprobs[i]` a {token string: logprob} object or null (the first token's).
    private struct LegacyLogprobs: Decodable {
        var tokens: [String]?
        var text_offset: [Int]?
        var token_logprobs: [Double?]?
        var top_logprobs: [[String: Double]?]?
    }
    private struct LegacyChoice: Decodable {
        var text: String?
        var logprobs: LegacyLogprobs?
    }
    private struct LegacyBody: Decodable { var choices: [LegacyChoice]? }

    /// The echoed prompt's tokens with their log-probabilities, checked: parallel arrays of one length, offsets
    /// non-decreasing; the alternatives sorted likeliest first (a JSON object has no order).
    static func decodeEcho(_ data: Data, endpoint: String, excerpt: (Data) -> String) throws -> [PromptTokenLogprob] {
        let body: LegacyBody
        do { body = try JSONDecoder().decode(LegacyBody.self, from: data) } catch {
            throw LLMClientError.invalidJSON(endpoint: endpoint, bodyExcerpt: excerpt(data))
        }
        guard let choice = body.choices?.first else { throw LLMClientError.missingField(endpoint: endpoint, field: "choices[0]") }
        guard let lp = choice.logprobs, let tokens = lp.tokens, !tokens.isEmpty, let tops = lp.top_logprobs else {
            throw LLMClientError.missingField(endpoint: endpoint,
                                              field: "choices[0].logprobs.tokens/top_logprobs (the server does not echo prompt logprobs)")
        }
        guard tops.count == tokens.count, lp.token_logprobs.map({ $0.count == tokens.count }) ?? true,
              lp.text_offset.map({ $0.count == tokens.count }) ?? true else {
            throw LLMClientError.missingField(endpoint: endpoint,
                                              field: "choices[0].logprobs (tokens, text_offset, token_logprobs, top_logprobs of different lengths)")
        }
        if let offsets = lp.text_offset, zip(offsets, offsets.dropFirst()).contains(where: { $0 > $1 }) {
            throw LLMClientError.missingField(endpoint: endpoint, field: "choices[0].logprobs.text_offset (not in order)")
        }
        return tokens.indices.map { i in
            let alternatives = (tops[i] ?? [:]).filter { $0.value.isFinite }
                .map { TokenAlternative(token: $0.key, logprob: $0.value) }
                .sorted { $0.logprob != $1.logprob ? $0.logprob > $1.logprob : $0.token < $1.token }
            return PromptTokenLogprob(token: tokens[i], textOffset: lp.text_offset?[i],
                                      logprob: lp.token_logprobs?[i] ?? nil, topAlternatives: alternatives)
        }
    }
}
