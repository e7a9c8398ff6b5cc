import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// A per-test scratch folder.
final class SAEScratch {
    let path: String
    init() throws { path = try FixtureFiles.temporaryFolder("sae") }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func folder(_ name: String) -> String { path + "/" + name }
}

/// Asserts `body` throws an `SAEError` for which `matches` holds.
func assertSAEError<T>(_ body: @autoclosure () throws -> T, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                       _ matches: (SAEError) -> Bool) {
    do {
        _ = try body()
        XCTFail("\(what): expected an error, got a value", file: file, line: line)
    } catch let e as SAEError {
        XCTAssertTrue(matches(e), "\(what): wrong error: \(e)", file: file, line: line)
        XCTAssertFalse(e.description.isEmpty)
    } catch {
        XCTFail("\(what): not an SAEError: \(error)", file: file, line: line)
    }
}

/// The tiny SAE of the hand-computed tests: d_in 2, d_sae 3.
///
/// W_enc = [[1, 0, −1], [0, 1, 3]], b_enc = [0.5, −0.5, 0], W_dec = [[1, 0], [0, 1], [1, 1]], b_dec = [1, 0].
/// Token x₁ = [3, 2]: x_c = [2, 2], x_c·W_enc = [2, 2, 4], pre = [2.5, 1.5, 4].
/// Token x₂ = [0, 0]: x_c = [−1, 0], x_c·W_enc = [−1, 0, 1], pre = [−0.5, −0.5, 1].
enum TinySAE {
    static let x: [Float] = [3, 2, 0, 0]
    static func weights() -> SAEFixtureWeights {
        SAEFixtureWeights(dIn: 2, dSAE: 3, wEnc: [1, 0, -1, 0, 1, 3], bEnc: [0.5, -0.5, 0], wDec: [1, 0, 0, 1, 1, 1], bDec: [1, 0],
                          threshold: [3, 1, 1], bGate: [0.5, -0.5, 0], bMag: [0, -1, -0.5], rMag: [0, Float(M_LN2), 0])
    }
}

/// Max |a − b| over two equal-length arrays.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    XCTAssertEqual(a.count, b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Token t's entries as (latent, value) pairs.
func entries(_ c: SparseCodes, _ t: Int) -> [(Int, Float)] { c.latents(ofToken: t).map { ($0.latent, $0.value) } }

func assertEntries(_ c: SparseCodes, _ t: Int, _ expected: [(Int, Float)], accuracy: Float = 1e-5,
                   file: StaticString = #filePath, line: UInt = #line) {
    let got = entries(c, t)
    XCTAssertEqual(got.map(\.0), expected.map(\.0), "token \(t) latents", file: file, line: line)
    for (g, e) in zip(got, expected) { XCTAssertEqual(g.1, e.1, accuracy: accuracy, "token \(t) latent \(e.0)", file: file, line: line) }
}
