import XCTest
@testable import ModelEngine

/// Chat formats chosen from a model's own template, against jinja2's rendering of it.
final class ChatFormatTests: XCTestCase {
    private struct Reference: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        struct Case: Decodable {
            let template: String
            let messages: [Message]
            let addGenerationPrompt: Bool
            let expected: String
        }
        let templates: [String: String]
        let cases: [Case]
    }

    func testModelTemplatesRenderAsJinja() throws {
        let reference = try TokenizerReference.load("chat-templates.json", as: Reference.self)
        XCTAssertEqual(Set(reference.templates.keys), ["smollm2", "qwen2"])
        XCTAssertEqual(ChatTemplate.format(forTemplate: reference.templates["smollm2"]),
                       .chatML(defaultSystemPrompt: ChatTemplate.smolLM2DefaultSystemPrompt))
        XCTAssertEqual(ChatTemplate.format(forTemplate: reference.templates["qwen2"]),
                       .chatML(defaultSystemPrompt: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
        XCTAssertEqual(reference.cases.count, 12)
        for c in reference.cases {
            let messages = c.messages.map { (role: $0.role, content: $0.content) }
            let got = ChatTemplate.render(template: reference.templates[c.template], messages: messages,
                                          addGenerationPrompt: c.addGenerationPrompt)
            XCTAssertEqual(got, c.expected, "\(c.template) \(c.messages.map(\.role))")
            if c.template == "smollm2" {
                XCTAssertEqual(ChatTemplate.smolLM2(messages: messages, addGenerationPrompt: c.addGenerationPrompt), c.expected)
            }
        }
    }

    func testGemmaTurns() {
        XCTAssertEqual(ChatTemplate.format(forTemplate: "{{ bos_token }}{% for m in messages %}<start_of_turn>…"), .gemma)
        let text = ChatTemplate.render(.gemma, messages: [("system", "Be brief."), ("user", " Hi \n"), ("assistant", "Hello"),
                                                          ("user", "Bye")], addGenerationPrompt: true)
        XCTAssertEqual(text, "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
            + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertEqual(ChatFormat.gemma.stopText, "<end_of_turn>")
    }

    func testLlama3Headers() {
        XCTAssertEqual(ChatTemplate.format(forTemplate: "{% set x %}<|start_header_id|>{{ role }}"), .llama3)
        let text = ChatTemplate.render(.llama3, messages: [("system", "S"), ("user", "U")], addGenerationPrompt: true)
        XCTAssertEqual(text, "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(ChatFormat.llama3.stopText, "<|eot_id|>")
    }

    func testUnknownOrMissingTemplates() {
        XCTAssertNil(ChatTemplate.format(forTemplate: nil))
        XCTAssertNil(ChatTemplate.format(forTemplate: "{{ messages }}"))
        XCTAssertEqual(ChatTemplate.format(forTemplate: "{{'<|im_start|>' + role}}"), .chatML(defaultSystemPrompt: nil))
        XCTAssertEqual(ChatTemplate.render(.chatML(defaultSystemPrompt: "D"), messages: [], addGenerationPrompt: true),
                       "<|im_start|>assistant\n")
    }
}
