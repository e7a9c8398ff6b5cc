import ActivationPipeline
import ArgumentParser
import FeaturescopeCore
import Foundation
import ModelEngine
import SparseAutoencoders

/// Options that say what goes into the model: text (optionally in the chat template) or raw ids.
struct PromptOptions: ParsableArguments {
    @Option(name: .long, help: "The prompt text.")
    var prompt: String?

    @Option(name: .long, help: "Token ids instead of text, comma-separated (e.g. 504,2365,6354).")
    var ids: String?

    @Flag(name: .long, help: "Wrap the prompt in the model's chat template as a user message (with the assistant prefix).")
    var chat = false

    func validate() throws {
        guard (prompt == nil) != (ids == nil) else { throw ValidationError("give exactly one of --prompt and --ids") }
        if chat && ids != nil { throw ValidationError("--chat applies to --prompt text, not to --ids") }
    }

    /// The token ids to run.
    func tokens(_ tokenizer: Tokenizer) throws -> [Int32] {
        if let ids {
            let parts = ids.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let parsed = parts.compactMap { Int32($0) }
            guard !parsed.isEmpty, parsed.count == parts.count else {
                throw ValidationError("--ids must be comma-separated integers, got '\(ids)'")
            }
            return parsed
        }
        var text = prompt ?? ""
        if chat {
            guard let rendered = ChatTemplate.render(template: tokenizer.chatTemplate, messages: [(role: "user", content: text)],
                                                     addGenerationPrompt: true) else {
                throw ValidationError("--chat: the model has no chat template of a supported kind (ChatML, Gemma turns, Llama 3 headers); "
                                      + "it may be a base model — give the prompt as plain text")
            }
            text = rendered
        }
        let tokens = tokenizer.encode(text)
        guard !tokens.isEmpty else { throw ValidationError("the prompt is empty") }
        return tokens
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a prompt through the model: per token, the next-token predictions (and SAE latents with --sae).",
        discussion: """
        JSON (--json): {"model", "hook", "tokens": [{"id", "text", "latents": [{"index", "activation"}], \
        "predictions": [{"id", "text", "prob"}]}]}. "predictions" of token t are the model's guesses for token t+1.
        """)

    @OptionGroup var input: PromptOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "SAE whose latents to show per token: a folder or file (SAELens, sparsify, Gemma Scope params.npz, .pt, Llama Scope), or RELEASE/SAE_ID from the Hugging Face cache (featurescope sae list).")
    var sae: String?

    @Option(name: .long, help: "Hook the SAE reads (default: the SAE's own hook), e.g. blocks.5.hook_resid_post.")
    var hook: String?

    @Option(name: .long, help: "How many predictions (and latents) to show per token.")
    var top: Int = 5

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        guard (1 ... 100).contains(top) else { throw ValidationError("--top must be 1…100") }
        if hook != nil && sae == nil { throw ValidationError("--hook selects where an SAE reads; pass --sae too") }
        if let hook { _ = try HookPoint(hook) }
    }

    func run() async throws {
        let (model, tokenizer) = try modelOptions.loadWithTokenizer()
        let tokens = try input.tokens(tokenizer)
        // The SAE (if any; a path, RELEASE/ID or hub-cache repo) on the hook it reads: --hook, else the SAE's own hook.
        let encoder = try sae.map { spec in
            do {
                let loaded = try SAEResolver.load(spec, for: model, options: SAELoadOptions(hookpoint: hook))
                return try hook.map { HookEncoder(hook: try HookPoint($0), sae: loaded) } ?? HookEncoder(sae: loaded, source: spec)
            } catch PipelineError.unknownHook(_, let name) {
                throw ValidationError("the SAE reads '\(SafeText.sanitize(name))', which the engine has no hook for; pass --hook")
            }
        }
        let encoded = try ActivationPipeline.encode(prompt: tokens, model: model, encoders: encoder.map { [$0] } ?? [], logits: .all)
        let result = encoded.pass
        var latentsPerToken = [[RunOutput.Latent]](repeating: [], count: tokens.count)
        if let codes = encoded.codes.first {
            for t in 0 ..< tokens.count {
                let scale = t < codes.outputScale.count ? codes.outputScale[t] : 1
                latentsPerToken[t] = codes.range(ofToken: t)
                    .map { RunOutput.Latent(index: Int(codes.indices[$0]), activation: codes.values[$0] * scale) }
                    .filter { $0.activation > 0 }
                    .sorted { $0.activation > $1.activation }
                    .prefix(top).map { $0 }
            }
        }
        var rows: [RunOutput.Token] = []
        for (t, id) in tokens.enumerated() {
            let predictions = Logits.topKSoftmax(Array(result.logitsRow(t)), count: top).map {
                RunOutput.Prediction(id: $0.id, text: tokenizer.displayString(Int32($0.id)), prob: $0.probability)
            }
            rows.append(RunOutput.Token(id: Int(id), text: tokenizer.displayString(id), latents: latentsPerToken[t],
                                        predictions: predictions))
        }
        let output = RunOutput(model: model.path, hook: encoder?.hook.description, tokens: rows)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(output), as: UTF8.self))
        } else {
            printTable(output)
        }
    }

    private func printTable(_ output: RunOutput) {
        func show(_ s: String) -> String { SafeText.sanitize(s, options: .init(showSpaces: true)) }
        if let hook = output.hook { print("SAE latents at \(hook) (index=activation), then next-token predictions") }
        print("pos  id      token               next-token predictions")
        for (t, token) in output.tokens.enumerated() {
            let preds = token.predictions.map { "\(show($0.text)) \(String(format: "%.1f%%", $0.prob * 100))" }
            let text = show(token.text)
            let padded = text.count < 18 ? text + String(repeating: " ", count: 18 - text.count) : text
            print(String(format: "%3d  %-6d  ", t, token.id) + padded + "  " + preds.joined(separator: "  "))
            if output.hook != nil {
                let latents = token.latents.map { "\($0.index)=\(String(format: "%.2f", $0.activation))" }
                print("                                 latents: " + (latents.isEmpty ? "(none)" : latents.joined(separator: " ")))
            }
        }
    }
}

/// The JSON document of `featurescope run --json`.
struct RunOutput: Encodable {
    struct Latent: Encodable { let index: Int; let activation: Float }
    struct Prediction: Encodable { let id: Int; let text: String; let prob: Float }
    struct Token: Encodable { let id: Int; let text: String; let latents: [Latent]; let predictions: [Prediction] }
    let model: String
    let hook: String?
    let tokens: [Token]

    enum CodingKeys: String, CodingKey { case model, hook, tokens }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(hook, forKey: .hook)  // null when absent, as the schema says
        try c.encode(tokens, forKey: .tokens)
    }
}
