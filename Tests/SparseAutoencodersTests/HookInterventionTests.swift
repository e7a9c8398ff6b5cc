import Foundation
import ModelEngine
import SparseAutoencoders
import TestSupport
import XCTest

/// Splice, ablation and steering interventions applied to a captured activation.
final class HookInterventionTests: XCTestCase {
    func tinySAE(hook: String = "blocks.3.hook_resid_post") throws -> SparseAutoencoder {
        let w = TinySAE.weights()
        let cfg = SAEConfig(dIn: 2, dSAE: 3, architecture: .standard, metadata: SAEMetadata(hookName: hook))
        return try SparseAutoencoder(config: cfg, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec)
    }

    func testHookPoint() throws {
        XCTAssertEqual(try tinySAE().hookPoint, .residPost(3))
        XCTAssertEqual(try tinySAE(hook: "blocks.2.attn.hook_z").hookPoint, .z(2))
        XCTAssertNil(try tinySAE(hook: "hook_embed").hookPoint)
    }

    func testSpliceReplacesWithReconstruction() throws {
        let sae = try tinySAE()
        var t = HookTensor(shape: [2, 2], data: TinySAE.x)
        try sae.spliceIntervention()(&t)
        XCTAssertEqual(t.data, [7.5, 5.5, 2, 1], "decode(encode(x)) from the hand-computed example")
        XCTAssertEqual(t.shape, [2, 2])
    }

    func testAblationRemovesOneLatent() throws {
        let sae = try tinySAE()
        var t = HookTensor(shape: [2, 2], data: TinySAE.x)
        try sae.ablationIntervention(latents: [2])(&t)
        // Token 1: latent 2 has 4 → x − 4·[1, 1]; token 2: latent 2 has 1 → x − [1, 1].
        XCTAssertEqual(t.data, [-1, -2, -1, -1])
    }

    func testSteeringAddsDecoderRow() throws {
        let sae = try tinySAE()
        var t = HookTensor(shape: [2, 2], data: TinySAE.x)
        try sae.steeringIntervention(latent: 2, amount: 10, positions: [1])(&t)
        XCTAssertEqual(t.data, [3, 2, 10, 10])
        XCTAssertThrowsError(try sae.steeringIntervention(latent: 3, amount: 1))
    }

    func testWrongWidthThrows() throws {
        let sae = try tinySAE()
        var t = HookTensor(shape: [1, 3], data: [1, 2, 3])
        XCTAssertThrowsError(try sae.spliceIntervention()(&t))
    }
}
