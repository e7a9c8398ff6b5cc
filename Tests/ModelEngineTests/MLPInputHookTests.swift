import Foundation
@testable import ModelEngine
import TensorFormats
import XCTest

/// `blocks.L.mlp.hook_in` (the MLP's input: the pre-MLP RMSNorm of hook_resid_mid with its gain, what sparsify
/// transcoders of `layers.L.mlp` read) on the real model, against RMSNorm computed here from the GGUF's
/// `blk.L.ffn_norm.weight`; an intervention there changes the MLP output.
final class MLPInputHookTests: XCTestCase {
    let fox: [Int32] = [504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30]

    func testMLPInputIsTheNormedResidMid() throws {
        let model = try EngineFixtures.requireModel()
        let c = model.config
        let l = 4
        XCTAssertEqual(try HookPoint("blocks.4.mlp.hook_in"), HookPoint(layer: 4, site: .mlpIn))
        let r = try model.forward(tokens: fox, captures: [.residMid(l), HookPoint(layer: l, site: .mlpIn)], logits: .none)
        let mid = try XCTUnwrap(r.activation(.residMid(l)))
        let mlpIn = try XCTUnwrap(r.activation(HookPoint(layer: l, site: .mlpIn)))
        XCTAssertEqual(mlpIn.shape, mid.shape)
        let g = try GGUFFile(path: ModelLocator.resolve(explicit: nil)).dequantize("blk.\(l).ffn_norm.weight")
        XCTAssertEqual(g.count, c.dim)
        for t in 0 ..< fox.count {
            let x = Array(mid.data[t * c.dim ..< (t + 1) * c.dim])
            let rms = (x.reduce(0) { $0 + $1 * $1 } / Float(c.dim) + c.normEpsilon).squareRoot()
            for j in 0 ..< c.dim {
                XCTAssertEqual(mlpIn.data[t * c.dim + j], x[j] / rms * g[j], accuracy: 1e-3 * max(1, abs(x[j] / rms * g[j])))
            }
        }
        // Zeroing the MLP input changes what the MLP writes.
        let base = try model.forward(tokens: fox, captures: [.mlpOut(l)], logits: .none)
        let zeroed = try model.forward(tokens: fox, captures: [.mlpOut(l)], logits: .none,
                                       interventions: [HookPoint(layer: l, site: .mlpIn): { t in t.data = [Float](repeating: 0, count: t.data.count) }])
        XCTAssertNotEqual(base.activation(.mlpOut(l)), zeroed.activation(.mlpOut(l)))
    }
}
