import ArgumentParser
import FeaturescopeCore
import Foundation
import ModelEngine

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with the model (KV cache; stops at <|im_end|> / end of text).",
        discussion: "The text streams to standard output; speed goes to standard error. Use --chat for instructions.")

    @OptionGroup var input: PromptOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Most tokens to generate.")
    var maxTokens: Int = 128

    @Option(name: .long, help: "Sampling temperature; 0 = greedy.")
    var temperature: Float = 0

    @Option(name: .long, help: "Seed of the sampler (with --temperature > 0).")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Print one JSON object (prompt ids, generated ids, text, tokens/s) instead of streaming.")
    var json = false

    func validate() throws {
        guard (1 ... 8192).contains(maxTokens) else { throw ValidationError("--max-tokens must be 1…8192") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0") }
    }

    func run() async throws {
        let (model, tokenizer) = try modelOptions.loadWithTokenizer()
        let prompt = try input.tokens(tokenizer)
        let generator = Generator(model: model, maxLength: min(model.config.contextLength, prompt.count + maxTokens),
                                  quantizedPrompts: true)
        let sampling: Sampling = temperature > 0 ? .temperature(temperature, seed: seed) : .greedy
        var pending: [UInt8] = []
        var firstTokenAt: UInt64 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let out = try generator.generate(prompt: prompt, maxNewTokens: maxTokens, sampling: sampling) { id in
            if firstTokenAt == 0 { firstTokenAt = DispatchTime.now().uptimeNanoseconds }
            guard !json else { return true }
            pending += tokenizer.tokenBytes(id)
            let complete = completeUTF8Prefix(pending)
            if complete > 0 {
                printUntrusted(String(decoding: pending[..<complete], as: UTF8.self))
                pending.removeFirst(complete)
            }
            return true
        }
        let end = DispatchTime.now().uptimeNanoseconds
        let steps = max(out.count - 1, 0)
        let stepSeconds = Double(end - max(firstTokenAt, start)) / 1e9
        let promptSeconds = Double(max(firstTokenAt, start) - start) / 1e9
        let tps = steps > 0 && stepSeconds > 0 ? Double(steps) / stepSeconds : 0
        if json {
            struct Out: Encodable {
                let promptIds: [Int32]; let generatedIds: [Int32]; let text: String
                let promptSeconds: Double; let tokensPerSecond: Double
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            let doc = Out(promptIds: prompt, generatedIds: out, text: tokenizer.decode(out),
                          promptSeconds: promptSeconds, tokensPerSecond: tps)
            print(String(decoding: try enc.encode(doc), as: UTF8.self))
        } else {
            if !pending.isEmpty { printUntrusted(String(decoding: pending, as: UTF8.self)) }
            print("")
            FileHandle.standardError.write(Data(String(format: "[%d prompt tokens in %.2f s, %d tokens at %.1f tokens/s]\n",
                                                       prompt.count, promptSeconds, out.count, tps).utf8))
        }
    }
}

/// Prints model text with control characters made visible but newlines kept.
private func printUntrusted(_ text: String) {
    let safe = text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { SafeText.sanitize(String($0)) }.joined(separator: "\n")
    FileHandle.standardOutput.write(Data(safe.utf8))
}

/// Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence.
func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
    var i = bytes.count - 1
    var back = 0
    while i >= 0, back < 4, bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
    guard i >= 0 else { return bytes.count }
    let lead = bytes[i]
    let need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
    return bytes.count - i >= need ? bytes.count : i
}
