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
