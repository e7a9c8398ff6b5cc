import ArgumentParser
import FeaturescopeCore
import Foundation
import HeadRoles
import ModelEngine

/// `featurescope heads [--model M] [--json]`
struct HeadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heads",
        abstract: "Score every attention head's role: previous-token, induction, first-token, self attention and entropy.",
        discussion: """
        Runs --sequences random sequences of --length ordinary tokens repeated twice (after BOS when the model has \
        one) and averages each head's attention: on the previous token, on the induction target (in the second \
        repeat, the token after the current token's first occurrence), on position 0, on itself, and the entropy of \
        its attention rows (nats). Scores are mean weights in 0…1.

        JSON (--json): {"model", "sequences", "length", "bos", "heads": [{"layer", "head", "previousToken", \
        "induction", "firstToken", "self", "entropy"}]}.

        Examples:
          featurescope heads
          featurescope heads --model qwen2.5-coder-0.5b-instruct --json
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Random sequences to average over.") var sequences = 4
    @Option(help: "Random tokens per repeat (each sequence is twice as long, plus BOS; cut to fit the model's context).") var length = 48
    @Option(help: "Seed of the random tokens.") var seed: UInt64 = 13
    @Option(help: "Heads listed per role in the text output.") var top = 5
    @Flag(help: "Print the scores as JSON.") var json = false

    struct Report: Encodable {
        var model: String
        var sequences: Int
        var length: Int
        var bos: Bool
        var heads: [HeadRoleScores]
    }

    func validate() throws {
        guard (1 ... 256).contains(sequences) else { throw ValidationError("--sequences must be 1…256") }
        guard (2 ... 2048).contains(length) else { throw ValidationError("--length must be 2…2048") }
    }

    func run() async throws {
        let (model, tokenizer) = try modelOptions.loadWithTokenizer()
        let probe = HeadRoleProbe(sequences: sequences, period: length, seed: seed)
            .fitted(contextLength: model.config.contextLength, hasBOS: tokenizer.bosId != nil)
        let bar = ProgressBar(total: sequences, label: "heads", unit: "seq", enabled: !json)
        let scores = try probe.run(model: model, tokenizer: tokenizer) { bar.update($0) }
        bar.finish()
        let report = Report(model: model.name, sequences: sequences, length: probe.period, bos: tokenizer.bosId != nil, heads: scores)
        if json { try printJSON(report); return }
        print("\(SafeText.sanitize(model.name)): \(model.config.layerCount) layers × \(model.config.headCount) heads, "
              + "\(sequences) random sequences of \(probe.period) tokens repeated twice" + (report.bos ? " after BOS" : ""))
        let roles: [(String, KeyPath<HeadRoleScores, Double>)] = [
            ("induction", \.induction), ("previous-token", \.previousToken), ("first-token", \.firstToken), ("self", \.selfAttention),
        ]
        for (name, key) in roles {
            let best = scores.sorted { $0[keyPath: key] > $1[keyPath: key] }.prefix(top)
            print("\n\(name): " + best.map { String(format: "L%dH%d %.2f", $0.layer, $0.head, $0[keyPath: key]) }.joined(separator: "  "))
        }
        print("\nlayer.head   prev   ind  first  self  entropy  role")
        for s in scores {
            print(String(format: "%5d.%-4d  %5.2f %5.2f %5.2f %5.2f  %6.2f   ", s.layer, s.head, s.previousToken, s.induction, s.firstToken,
                         s.selfAttention, s.entropy) + (s.dominantRole ?? "—"))
        }
    }
}
