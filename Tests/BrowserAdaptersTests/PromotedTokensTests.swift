import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import TensorFormats
import TerminalUI
import TestSupport
import XCTest
@testable import BrowserAdapters

/// Promoted tokens: the decoder row read through W_O (hook_z), the final norm weight and the unembedding.
final class PromotedTokensTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("promoted") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    static func f32(_ name: String, _ dims: [Int], _ values: [Float]) -> GGUFFixtureTensor {
        GGUFFixtureTensor(name: name, dims: dims, type: 0, data: TensorBytes.f32(values))
    }

    /// d_in 4 (2 heads × 2), d_model 3, vocabulary 5. GGUF dims are fastest first: W_O [in 4, out 3]
    /// stored row-major as [out][in]; the embedding [d_model 3, vocab 5] as [token][d_model].
    func writeTinyModel(outputWeight: [Float]? = nil) throws -> String {
        var g = GGUFFixture()
        g.metadata = [("general.architecture", .string("llama"))]
        g.tensors = [
            Self.f32("blk.1.attn_output.weight", [4, 3], [1, 0, 0, 0,
                                                         0, 0, 1, 0,
                                                         0, 1, 0, 1]),
            Self.f32("token_embd.weight", [3, 5], [1, 0, 0,
                                                   0, 1, 0,
                                                   0, 0, 1,
                                                   1, 1, 1,
                                                   -1, 0, 0]),
            Self.f32("output_norm.weight", [3], [1, 2, 1]),
        ]
        if let o = outputWeight { g.tensors.append(Self.f32("output.weight", [3, 5], o)) }
        let path = root + "/tiny-\(UUID().uuidString).gguf"
        try g.write(to: path)
        return path
    }

    /// Hand-computed: d = (2, −1, 3, 0.5) → W_O·d = (2, 3, −0.5) → g ⊙ · = (2, 6, −0.5)
    /// → logits (2, 6, −0.5, 7.5, −2): promotes t3, t1; suppresses t4, t2.
    func testHookZRowGoesThroughTheOutputProjectionNormWeightAndUnembedding() throws {
        let lens = try DecoderLogitLens(file: GGUFFile(path: writeTinyModel()), chunkRows: 2)
        XCTAssertEqual(lens.dModel, 3)
        XCTAssertEqual(lens.vocabSize, 5)
        XCTAssertEqual(lens.unembeddingName, "token_embd.weight", "tied: the embedding is the unembedding")
        let hook = try HookPoint("blocks.1.attn.hook_z")
        XCTAssertEqual(try lens.residualDirection([2, -1, 3, 0.5], hook: hook), [2, 3, -0.5])
        XCTAssertEqual(try lens.logits(residual: [2, 3, -0.5]), [2, 6, -0.5, 7.5, -2])
        let p = try lens.promotedTokens(decoderRow: [2, -1, 3, 0.5], hook: hook, count: 2) { "t\($0)" }
        XCTAssertEqual(p.promoted, [TokenLogit(token: "t3", logit: 7.5), TokenLogit(token: "t1", logit: 6)])
        XCTAssertEqual(p.suppressed, [TokenLogit(token: "t4", logit: -2), TokenLogit(token: "t2", logit: -0.5)])
        XCTAssertTrue(p.method.contains("W_O"), p.method)
    }

    /// A residual-stream SAE skips W_O: d = (3, 1, −1) → (3, 2, −1) → logits (3, 2, −1, 4, −3).
    func testResidualRowSkipsTheOutputProjection() throws {
        let lens = try DecoderLogitLens(file: GGUFFile(path: writeTinyModel()), chunkRows: 3)
        let p = try lens.promotedTokens(decoderRow: [3, 1, -1], hook: try HookPoint("blocks.1.hook_resid_post"), count: 2) { "t\($0)" }
        XCTAssertEqual(p.promoted, [TokenLogit(token: "t3", logit: 4), TokenLogit(token: "t0", logit: 3)])
        XCTAssertEqual(p.suppressed, [TokenLogit(token: "t4", logit: -3), TokenLogit(token: "t2", logit: -1)])
        XCTAssertFalse(p.method.contains("W_O"))
        // More tokens asked for than the vocabulary has: all of them, in order.
        let all = try lens.promotedTokens(decoderRow: [3, 1, -1], hook: try HookPoint("blocks.0.hook_mlp_out"), count: 50) { "t\($0)" }
        XCTAssertEqual(all.promoted.map(\.token), ["t3", "t0", "t1", "t2", "t4"])
    }

    /// An untied `output.weight` is used instead of the embedding; shape and hook problems are explained.
    func testUntiedOutputAndClearErrors() throws {
        let negated: [Float] = [-1, 0, 0, 0, -1, 0, 0, 0, -1, -1, -1, -1, 1, 0, 0]
        let lens = try DecoderLogitLens(file: GGUFFile(path: writeTinyModel(outputWeight: negated)))
        XCTAssertEqual(lens.unembeddingName, "output.weight")
        let p = try lens.promotedTokens(decoderRow: [3, 1, -1], hook: try HookPoint("blocks.1.hook_resid_pre"), count: 1) { "t\($0)" }
        XCTAssertEqual(p.promoted, [TokenLogit(token: "t4", logit: 3)])
        XCTAssertThrowsError(try lens.residualDirection([1, 2, 3], hook: try HookPoint("blocks.1.attn.hook_q"))) {
            XCTAssertTrue("\($0)".contains("residual stream"), "\($0)")
        }
        XCTAssertThrowsError(try lens.residualDirection([1, 2, 3], hook: try HookPoint("blocks.1.attn.hook_z"))) {
            XCTAssertTrue("\($0)".contains("feeds W_O with 4"), "\($0)")
        }
        XCTAssertThrowsError(try lens.residualDirection([1, 2, 3, 4], hook: try HookPoint("blocks.7.attn.hook_z"))) {
            XCTAssertTrue("\($0)".contains("blk.7.attn_output.weight"), "\($0)")
        }
        XCTAssertThrowsError(try lens.residualDirection([1, 2], hook: try HookPoint("blocks.1.hook_resid_post")))
    }

    /// A Hugging Face folder (the tiny Gemma 2 checkpoint, tied embeddings): a hook_z row through o_proj, the
    /// post-attention norm's (1 + w), the final norm's (1 + w) and embed_tokens, computed here in Double straight
    /// from the safetensors file.
    func testHuggingFaceFolderLensMatchesTheSafetensors() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = repo.path + "/Tests/Fixtures/tiny-models/gemma2"
        let lens = try DecoderLogitLens(tensors: ModelTensors(modelAt: folder), chunkRows: 100)
        XCTAssertEqual(lens.unembeddingName, "token_embd.weight")
        let st = try SafetensorsFile(path: folder + "/model.safetensors")
        let emb = try st.floats("model.embed_tokens.weight"), norm = try st.floats("model.norm.weight")
        let wo = try st.floats("model.layers.1.self_attn.o_proj.weight")
        let post = try st.floats("model.layers.1.post_attention_layernorm.weight")
        let dModel = norm.count, dIn = wo.count / dModel, vocab = emb.count / dModel
        XCTAssertEqual(lens.dModel, dModel)
        XCTAssertEqual(lens.vocabSize, vocab)
        var rng = SplitMix64(seed: 3)
        let d = (0 ..< dIn).map { _ in Float(rng.nextUnitDouble()) - 0.5 }
        var u = [Double](repeating: 0, count: dModel)
        for o in 0 ..< dModel {
            var x = 0.0
            for i in 0 ..< dIn { x += Double(wo[o * dIn + i]) * Double(d[i]) }
            u[o] = x * (1 + Double(post[o])) * (1 + Double(norm[o]))
        }
        let expected = (0 ..< vocab).map { v in (0 ..< dModel).reduce(0.0) { $0 + Double(emb[v * dModel + $1]) * u[$1] } }
        let got = try lens.logits(residual: try lens.residualDirection(d, hook: try HookPoint("blocks.1.attn.hook_z")))
        let scale = expected.map { abs($0) }.max() ?? 1
        let worst = zip(got, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-5 * max(1, scale), "worst |Δ| \(worst) (max |logit| \(scale))")
    }

    /// The cache adapter: the part's SAE decoder row through a fixture model, with the cache's display
    /// strings, equal to a plain double-precision computation; memoised; shown in the detail view.
    func testCacheAdapterComputesPromotedTokensForAHookZPart() async throws {
        let cachePath = try CacheFixtures.build(at: root)
        let dModel = 8, vocab = 60, dIn = 576
        var rng = SplitMix64(seed: 11)
        let wo = rng.floats(dModel * dIn), embedding = rng.floats(vocab * dModel), norm = rng.floats(dModel, 0.5, 1.5)
        var g = GGUFFixture()
        g.tensors = [Self.f32("blk.3.attn_output.weight", [dIn, dModel], wo), Self.f32("token_embd.weight", [dModel, vocab], embedding),
                     Self.f32("output_norm.weight", [dModel], norm)]
        let modelPath = root + "/model.gguf"
        try g.write(to: modelPath)
        let cache = try LatentCacheDirectory.open(cachePath)
        let data = CacheBrowserData(cache: cache, engine: EngineHost(cache: cache, modelPath: modelPath))
        let sae = try data.engine.sae(part: 0)
        for latent in [0, 17, 39] {
            let d = sae.decoderWeight[latent * dIn ..< (latent + 1) * dIn].map(Double.init)
            var u = [Double](repeating: 0, count: dModel)
            for o in 0 ..< dModel { u[o] = Double(norm[o]) * (0 ..< dIn).reduce(0) { $0 + Double(wo[o * dIn + $1]) * d[$1] } }
            let logits = (0 ..< vocab).map { t in (0 ..< dModel).reduce(0.0) { $0 + Double(embedding[t * dModel + $1]) * u[$1] } }
            let order = logits.indices.sorted { logits[$0] > logits[$1] }
            let p = try data.promotedTokens(part: 0, latent: latent, count: 10)
            XCTAssertEqual(p.promoted.map(\.token), order.prefix(10).map { " w\($0)" }, "latent \(latent)")
            XCTAssertEqual(p.suppressed.map(\.token), order.reversed().prefix(10).map { " w\($0)" }, "latent \(latent)")
            for (got, t) in zip(p.promoted, order) { XCTAssertEqual(Double(got.logit), logits[t], accuracy: 1e-3 * max(1, abs(logits[t]))) }
            XCTAssertEqual(try data.promotedTokens(part: 0, latent: latent, count: 3).promoted, Array(p.promoted.prefix(3)), "memoised")
        }
        XCTAssertThrowsError(try data.promotedTokens(part: 0, latent: 40, count: 10))
        var s = await Session(data: data, size: Size(width: 160, height: 60))
        await s.keys(.enter)
        XCTAssertEqual(s.state.detail.promoted.value?.promoted.count, 10)
        let screen = s.screen
        XCTAssertTrue(screen.contains("promotes"), screen)
        XCTAssertTrue(screen.contains(try data.promotedTokens(part: 0, latent: 0, count: 1).promoted[0].token.replacingOccurrences(of: " ", with: "·")), screen)
    }

    /// No model file: the section says so (and how to get one) instead of staying empty.
    func testMissingModelIsExplainedInTheDetailView() async throws {
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root))
        let data = CacheBrowserData(cache: cache, engine: EngineHost(cache: cache, modelPath: root + "/no-such-model.gguf"))
        XCTAssertThrowsError(try data.promotedTokens(part: 0, latent: 0, count: 10)) { XCTAssertTrue("\($0)".contains("model"), "\($0)") }
        var s = await Session(data: data, size: Size(width: 160, height: 60))
        await s.keys(.enter)
        guard case let .failed(why) = s.state.detail.promoted else { return XCTFail("\(s.state.detail.promoted)") }
        XCTAssertTrue(why.contains("no-such-model.gguf"), why)
        XCTAssertTrue(s.screen.contains("unavailable: model"), s.screen)
    }

    /// Against SmolLM2 itself (the model is present wherever the tests run): the lens's W_O·d equals the
    /// engine's attention output when hook_z is replaced by d, and its logits equal the engine's logits
    /// when the last residual stream is replaced by W_O·d, times that vector's RMS (the factor the lens
    /// leaves out) — same top-10 tokens, same values.
    func testLensAgreesWithTheEngineOnTheRealModel() throws {
        let modelPath = ModelLocator.resolve(explicit: nil)
        XCTAssertTrue(FileManager.default.fileExists(atPath: modelPath), "the model must be at \(modelPath) (featurescope fetch-model)")
        let file = try GGUFFile(path: modelPath)
        let lens = try DecoderLogitLens(file: file)
        let model = try TransformerModel(gguf: file)
        let c = model.config
        XCTAssertEqual(lens.dModel, c.dim)
        XCTAssertEqual(lens.vocabSize, c.vocabSize)
        var rng = SplitMix64(seed: 5)
        let d = rng.floats(c.headCount * c.headDim)
        let layer = 3
        let x = try lens.residualDirection(d, hook: .z(layer))
        let attn = try model.forward(tokens: [1], captures: [.attnOut(layer)], logits: .none,
                                     interventions: [.z(layer): { $0.data = d }])
        let engineX = try XCTUnwrap(attn.activation(.attnOut(layer))).data
        XCTAssertEqual(engineX.count, x.count)
        for (a, b) in zip(x, engineX) { XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(b))) }

        let logits = try lens.logits(residual: x)
        let out = try model.forward(tokens: [1], logits: .last, interventions: [.residPost(c.layerCount - 1): { $0.data = x }])
        let rms = (x.reduce(0) { $0 + $1 * $1 } / Float(x.count) + c.normEpsilon).squareRoot()
        let engine = out.logitsRow(0).map { $0 * rms }
        let top = Logits.topIndices(logits, count: 10, largest: true)
        XCTAssertEqual(top, Logits.topIndices(Array(engine), count: 10, largest: true))
        XCTAssertEqual(Logits.topIndices(logits, count: 10, largest: false),
                       Logits.topIndices(Array(engine), count: 10, largest: false))
        for t in top { XCTAssertEqual(logits[t], engine[t], accuracy: 1e-3 * max(1, abs(engine[t]))) }
    }
}
