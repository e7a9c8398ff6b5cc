import Foundation
import LatentCache
@testable import AutoInterp

/// A tiny real cache built with `LatentCacheBuilder`, for the cache bridge and command tests.
///
/// Vocabulary: 16 words, among them " ACT" (id 3) and " dog" (id 5). Rows of 32 tokens cut
/// into windows of 16. Latent 0 fires on every " ACT" (value from 1 to 8 by window), so ~150 of
/// the 300 windows activate; latent 1 fires on " dog" in the first 12 rows only (≤ 24 windows);
/// latent 2 never fires; latent 3 fires on " ACT" like latent 0 at half strength.
enum CacheFixture {
    static let words = [" the", " a", " cat", " ACT", " runs", " dog", " and", " blue", " sky", ",", ".", " of",
                        " in", " big", " red", " on"]
    static let act = 3, dog = 5
    static let hook = "blocks.2.hook_resid_post"

    /// Builds the cache in a fresh folder under the temporary directory and returns its path.
    static func build(rows: Int = 150, seed: UInt64 = 7) throws -> String {
        let path = NSTemporaryDirectory() + "autointerp-cache-\(UUID().uuidString)"
        let examples = ExampleConfiguration(windowLength: 16, quantiles: 10, perQuantile: 10, topCount: 5,
                                            randomCount: 20, histogramBins: 8, seed: 22)
        let b = try LatentCacheBuilder.start(
            output: path, parts: [PartSpec(name: hook, latentCount: 4)],
            options: BuildOptions(examples: examples, rowLength: 32, keepAllActivations: true, checkpointEveryRows: 1000),
            metadata: CacheMetadata(model: "test", corpus: "fixture", creationCommand: "CacheFixture.build"),
            vocabulary: words.map { Array($0.utf8) }, vocabularySource: "test")
        var rng = FixtureRandom(state: seed)
        for r in 0 ..< rows {
            var tokens = (0 ..< 32).map { _ in Int32(rng.below(words.count)) }
            for w in 0 ..< 2 where rng.below(2) == 0 {
                tokens[w * 16 + 4 + rng.below(10)] = Int32(act)  // about half the windows hold " ACT"
            }
            try b.beginRow(tokens: tokens)
            for (p, t) in tokens.enumerated() {
                let window = r * 2 + p / 16
                if t == Int32(act) {
                    let v = Float(1 + window % 8)
                    b.add(part: 0, position: p, latent: 0, activation: v)
                    b.add(part: 0, position: p, latent: 3, activation: v / 2)
                }
                if t == Int32(dog), r < 12 { b.add(part: 0, position: p, latent: 1, activation: 2) }
            }
            try b.endRow()
        }
        _ = try b.finalize()
        return path
    }

    /// A scripted client that explains every latent as " ACT" and answers classifier prompts
    /// correctly (1 for examples holding " ACT").
    static func knowingClient(explanation: String = "the word ACT") -> ScriptedClient {
        ScriptedClient { request, _ in
            let system = request.messages.first?.content ?? ""
            if system.contains("[EXPLANATION]") { return ChatResponse(text: "Looks like one word.\n[EXPLANATION]: \(explanation)") }
            return ChatResponse(text: Fixtures.correctAnswer(request))
        }
    }
}

/// A tiny LCG of the fixture's own: the expected values of its tests were written with its draws.
struct FixtureRandom {
    var state: UInt64
    mutating func below(_ n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(n))
    }
}

/// A client with a model name of its own that always gives the same reply.
struct FixedReplyClient: LLMClient {
    let modelName: String
    let endpointName = "fixed://local"
    let reply: String
    func complete(_ request: ChatRequest) async throws -> ChatResponse { ChatResponse(text: reply) }
}
