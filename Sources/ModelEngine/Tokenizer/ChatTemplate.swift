import Foundation

/// Chat prompts in the format a model was fine-tuned on.
public enum ChatTemplate {
    /// The system prompt SmolLM2's template inserts when the conversation has none.
    public static let smolLM2DefaultSystemPrompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// SmolLM2-Instruct's template (the GGUF's `tokenizer.chat_template`), rendered exactly:
    /// each message as `<|im_start|>role\ncontent<|im_end|>\n`; when the first message is
    /// not a system message, a system message with `smolLM2DefaultSystemPrompt` comes
    /// first; with `addGenerationPrompt`, `<|im_start|>assistant\n` ends the prompt.
    /// An empty conversation gives only the generation prompt (or nothing).
    public static func smolLM2(messages: [(role: String, content: String)], addGenerationPrompt: Bool) -> String {
        var out = ""
        for (index, message) in messages.enumerated() {
            if index == 0 && messages[0].role != "system" {
                out += "<|im_start|>system\n" + smolLM2DefaultSystemPrompt + "<|im_end|>\n"
            }
            out += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>" + "\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }

    /// SmolLM2's Jinja template as stored in its GGUF; `smolLM2` renders this template.
    public static let smolLM2Jinja = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
}

/// The chat formats of the supported instruct models.
public enum ChatFormat: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen2.5); a system message with
    /// `defaultSystemPrompt` comes first when the conversation has none and it is non-nil.
    case chatML(defaultSystemPrompt: String?)
    /// `<start_of_turn>user\ncontent<end_of_turn>\n` with the assistant as `model`; a
    /// system message is prefixed (with a blank line) to the first turn (Gemma 2/3).
    case gemma
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3).
    case llama3

    /// The text that ends an assistant turn.
    public var stopText: String {
        switch self {
        case .chatML: return "<|im_end|>"
        case .gemma: return "<end_of_turn>"
        case .llama3: return "<|eot_id|>"
        }
    }
}

extension ChatTemplate {
    /// The format a model's own Jinja template (`tokenizer.chat_template`) describes, or
    /// nil when it is none of the supported ones (or there is no template).
    public static func format(forTemplate template: String?) -> ChatFormat? {
        guard let template else { return nil }
        if template.contains("<|im_start|>") { return .chatML(defaultSystemPrompt: chatMLDefaultSystemPrompt(in: template)) }
        if template.contains("<start_of_turn>") { return .gemma }
        if template.contains("<|start_header_id|>") { return .llama3 }
        return nil
    }

    /// The literal system prompt a ChatML template inserts when there is no system
    /// message: the text of a `<|im_start|>system\n…<|im_end|>` with no Jinja inside.
    static func chatMLDefaultSystemPrompt(in template: String) -> String? {
        let open = "<|im_start|>system"
        var rest = template[...]
        while let r = rest.range(of: open) {
            var body = rest[r.upperBound...]
            if body.hasPrefix("\\n") { body = body.dropFirst(2) } else if body.hasPrefix("\n") { body = body.dropFirst() }
            rest = rest[r.upperBound...]
            guard let end = body.range(of: "<|im_end|>") else { continue }
            let prompt = body[..<end.lowerBound]
            if !prompt.isEmpty && !prompt.contains(where: { "'\"{}".contains($0) }) { return String(prompt) }
        }
        return nil
    }

    /// The prompt for `messages` in `format`, ending with the assistant's turn header when
    /// `addGenerationPrompt`. BOS is not included: the tokenizer adds it when the model
    /// asks for it (`Tokenizer.addBosToken`), so encode the result with special tokens parsed.
    public static func render(_ format: ChatFormat, messages: [(role: String, content: String)],
                              addGenerationPrompt: Bool) -> String {
        var out = ""
        switch format {
        case let .chatML(defaultSystemPrompt):
            if let prompt = defaultSystemPrompt, let first = messages.first, first.role != "system" {
                out += "<|im_start|>system\n" + prompt + "<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .gemma:
            var turns = messages[...]
            var prefix = ""
            if let first = turns.first, first.role == "system" {
                prefix = first.content + "\n\n"
                turns = turns.dropFirst()
            }
            for (i, m) in turns.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                out += "<start_of_turn>" + role + "\n" + (i == 0 ? prefix : "")
                out += m.content.trimmingCharacters(in: .whitespacesAndNewlines) + "<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        case .llama3:
            for m in messages {
                out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n"
                out += m.content.trimmingCharacters(in: .whitespacesAndNewlines) + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return out
    }

    /// The prompt for `messages` in the format of a model's own template, or nil when the
    /// template is not a supported one.
    public static func render(template: String?, messages: [(role: String, content: String)],
                              addGenerationPrompt: Bool) -> String? {
        format(forTemplate: template).map { render($0, messages: messages, addGenerationPrompt: addGenerationPrompt) }
    }
}
