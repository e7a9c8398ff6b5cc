import ArgumentParser
import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import Steering

struct SteerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Steer generation with SAE latents and compare with the default run; or show a latent's ablation effect per token.",
        discussion: """
        --mode add adds strength × the latent's decoder row at the SAE's hook at every position; --mode clamp sets \
        the latent's activation to the strength and splices the reconstruction difference in. A hook_z SAE steers \
        the per-head attention outputs before W_O. Default and steered runs share the sampler seed, so strength 0 \
        (add) reproduces the default exactly. KL is KL(steered ‖ default) of the next-token distributions after \
        each position of the steered text. --freeze-attention adds a steered run whose attention patterns are the \
        default run's (steering acts through the values only). With --cache, strengths are in units of the \
        latent's largest activation in the cache. --ablate instead zeroes the latent on the prompt and reports per \
        position the change in log-probability of the actual next token and the most promoted/suppressed tokens.
        """)

    @OptionGroup var input: PromptOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "SAE: a folder or file of any format read, or RELEASE/SAE_ID (docs/sae-formats.md). Default with --cache: the SAE of its --part, found beside the cache, in it or in the current folder.")
    var sae: String?

    @Option(name: .long, help: "With --cache and no --sae: the part (name or number) whose SAE steers (default: the only one).")
    var part: String?

    @Option(name: .long, help: "Latent to steer (repeatable).")
    var latent: [Int]

    @Option(name: .long, help: "Strength per --latent, in order (one value applies to all); activation units, or max-activation units with --cache.")
    var strength: [Float] = [1]

    @Option(name: .long, help: "add or clamp.")
    var mode: SteeringMode = .add

    @Option(name: .long, help: "Most tokens to generate per run.")
    var maxTokens: Int = 32

    @Option(name: .long, help: "Sampling temperature; 0 = greedy.")
    var temperature: Float = 0

    @Option(name: .long, help: "Seed of the sampler (the same for every run).")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Also run the steered model with the default run's attention patterns (values-only steering).")
    var freezeAttention = false

    @Option(name: .long, help: "Latent cache: strengths are multiples of each latent's max activation in the part of this SAE's hook.")
    var cache: String?

    @Flag(name: .long, help: "Ablation effect of the (one) --latent on the prompt instead of steering.")
    var ablate = false

    @Option(name: .long, help: "Promoted/suppressed tokens per position with --ablate.")
    var top: Int = 5

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard !latent.isEmpty else { throw ValidationError("give at least one --latent") }
        guard strength.count == 1 || strength.count == latent.count else {
            throw ValidationError("give one --strength, or one per --latent (\(latent.count))")
        }
        guard strength.allSatisfy(\.isFinite) else { throw ValidationError("--strength must be finite") }
        guard (1 ... 4096).contains(maxTokens) else { throw ValidationError("--max-tokens must be 1…4096") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0") }
        guard (1 ... 100).contains(top) else { throw ValidationError("--top must be 1…100") }
        if ablate && latent.count != 1 { throw ValidationError("--ablate takes one --latent") }
        if sae == nil && cache == nil { throw ValidationError("give --sae, or --cache (and --part) to steer with the SAE the cache names") }
        if sae != nil && part != nil { throw ValidationError("--part picks the SAE from --cache; give it or --sae, not both") }
    }

    func run() async throws {
        let (model, tokenizer) = try modelOptions.loadWithTokenizer()
        let prompt = try input.tokens(tokenizer)
        let steerer = try Steerer(model: model, sae: SAEResolver.load(sae ?? cachePartSAE(), for: model))
        if ablate { return try printAblation(steerer, tokenizer, prompt) }
        let scales = try cache.map { try maxActivations(cache: $0, hook: steerer.hook.description) } ?? latent.map { _ in 1 }
        let latents = latent.enumerated().map { i, l in
            SteeringLatent(latent: l, strength: (strength.count == 1 ? strength[0] : strength[i]) * scales[i])
        }
        let request = SteeringRequest(prompt: prompt, maxNewTokens: maxTokens,
                                      sampling: temperature > 0 ? .temperature(temperature, seed: seed) : .greedy,
                                      mode: mode, latents: latents, freezeAttention: freezeAttention)
        let result = try steerer.run(request)
        if json {
            let doc = SteerOutput(hook: steerer.hook.description, mode: mode.rawValue, latents: latents,
                                  default: .init(result.defaultRun, tokenizer, reference: nil),
                                  steered: .init(result.steered, tokenizer, reference: result.defaultRun),
                                  frozen: result.frozen.map { .init($0, tokenizer, reference: result.defaultRun) })
            print(try jsonString(doc))
            return
        }
        func show(_ name: String, _ c: Continuation) {
            var line = "\(name): " + SafeText.sanitize(tokenizer.decode(c.generated))
            if !c.kl.isEmpty {
                let gen = c.kl.suffix(c.generated.count)
                line += String(format: "\n  KL(steered‖default): prompt mean %.4f, generated mean %.4f nats",
                               mean(c.kl.prefix(c.promptTokens.count)), mean(gen))
                if let d = c.firstDivergence(from: result.defaultRun) { line += ", diverges at generated token \(d)" }
            }
            print(line)
        }
        show("default", result.defaultRun)
        show("steered", result.steered)
        if let f = result.frozen { show("frozen ", f) }
    }

    /// The SAE folder `--cache`'s `--part` names (`SAELocation`).
    func cachePartSAE() throws -> String {
        guard let cache else { throw ValidationError("give --sae, or --cache (and --part)") }
        let dir = try LatentCacheDirectory.open(cache)
        if let part { return try dir.saeLocation(of: AlignCommand.part(dir, part)) }
        guard dir.parts.count == 1 else {
            throw ValidationError("\(SafeText.sanitize(cache)) has \(dir.parts.count) parts: pick one with --part (\(dir.parts.map { SafeText.sanitize($0.name) }.joined(separator: ", ")))")
        }
        return try dir.saeLocation(of: dir.parts[0])
    }

    /// Each --latent's max activation in the cache part that reads `hook`.
    func maxActivations(cache path: String, hook: String) throws -> [Float] {
        let dir = try LatentCacheDirectory.open(path)
        guard let part = dir.parts.first(where: { HookNames.canonical($0.hook) == hook }) else {
            throw ValidationError("\(path): no part reads \(hook) (parts: \(dir.parts.map(\.hook).joined(separator: ", ")))")
        }
        return try latent.map { l in
            guard (0 ..< part.latentCount).contains(l) else { throw ValidationError("latent \(l) is out of range 0..<\(part.latentCount) in \(path)") }
            let m = try part.statistics(l).maxActivation
            guard m > 0 else { throw ValidationError("latent \(l) never fires in \(path): no max activation to scale by") }
            return m
        }
    }

    func printAblation(_ steerer: Steerer, _ tokenizer: Tokenizer, _ prompt: [Int32]) throws {
        let effect = try steerer.ablationEffect(latent: latent[0], tokens: prompt, top: top)
        let rows = effect.map { AblationOutput.Position($0, tokenizer) }
        if json {
            print(try jsonString(AblationOutput(hook: steerer.hook.description, latent: latent[0], positions: rows)))
            return
        }
        for r in rows {
            let delta = r.deltaLogProb.map { String(format: "%+.4f", $0) } ?? "      —"
            let up = r.promoted.prefix(3).map { SafeText.sanitize($0.text) }.joined(separator: " ")
            let down = r.suppressed.prefix(3).map { SafeText.sanitize($0.text) }.joined(separator: " ")
            print(String(format: "%-16@ act %8.3f  Δlogp(next) %@  ↑ %@  ↓ %@", SafeText.sanitize(r.text) as NSString,
                         r.activation, delta as NSString, up as NSString, down as NSString))
        }
    }
}

extension SteeringMode: ExpressibleByArgument {}

private func mean<C: Collection>(_ v: C) -> Double where C.Element == Double {
    v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count)
}

private func jsonString<T: Encodable>(_ value: T) throws -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    return String(decoding: try enc.encode(value), as: UTF8.self)
}

/// `steer --json`.
private struct SteerOutput: Encodable {
    struct Run: Encodable {
        let promptIds: [Int32]
        let ids: [Int32]
        let text: String
        let kl: [Double]?
        let firstDivergence: Int?

        init(_ c: Continuation, _ tokenizer: Tokenizer, reference: Continuation?) {
            promptIds = c.promptTokens
            ids = c.generated
            text = tokenizer.decode(c.generated)
            kl = reference == nil ? nil : c.kl
            firstDivergence = reference.flatMap { c.firstDivergence(from: $0) }
        }
    }
    let hook: String
    let mode: String
    let latents: [SteeringLatent]
    let `default`: Run
    let steered: Run
    let frozen: Run?
}

/// `steer --ablate --json`.
private struct AblationOutput: Encodable {
    struct Token: Encodable { let id: Int32; let text: String; let delta: Double }
    struct Position: Encodable {
        let token: Int32, text: String, activation: Float, nextToken: Int32?, deltaLogProb: Double?, kl: Double
        let promoted: [Token], suppressed: [Token]

        init(_ p: AblationPosition, _ tokenizer: Tokenizer) {
            token = p.token; text = tokenizer.displayString(p.token); activation = p.activation; nextToken = p.nextToken
            deltaLogProb = p.deltaLogProb; kl = p.kl
            promoted = p.promoted.map { Token(id: $0.token, text: tokenizer.displayString($0.token), delta: $0.delta) }
            suppressed = p.suppressed.map { Token(id: $0.token, text: tokenizer.displayString($0.token), delta: $0.delta) }
        }
    }
    let hook: String
    let latent: Int
    let positions: [Position]
}
