import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// Corrupt SAE folders → specific errors.
final class CorruptFolderTests: XCTestCase {
    var scratch: SAEScratch!
    let w = SAEFixtureWeights.random(dIn: 4, dSAE: 6, seed: 11)
    override func setUpWithError() throws { scratch = try SAEScratch() }
    override func tearDown() { scratch = nil }

    func saeLens(_ c: SAEFolderCorruption?, arch: String = "standard", k: Int? = nil, style: SAELensConfigStyle = .v6,
                 extra: [String: any Sendable] = [:]) throws -> String {
        let folder = scratch.folder(UUID().uuidString)
        try SAEFixtures.writeSAELens(folder: folder, weights: w, architecture: arch, k: k, style: style, extraConfig: extra, corruption: c)
        return folder
    }

    func sparsify(_ c: SAEFolderCorruption?, extra: [String: any Sendable] = [:]) throws -> String {
        let folder = scratch.folder(UUID().uuidString) + "/layers.1"
        try SAEFixtures.writeSparsify(folder: folder, weights: w, k: 2, extraConfig: extra, corruption: c)
        return folder
    }

    func testMissingConfigFields() throws {
        for field in ["d_in", "d_sae", "hook_name"] {
            assertSAEError(try SparseAutoencoder.load(folder: saeLens(.missingConfigField(field))), field) {
                if case let .missingConfigField(p, f) = $0 { return f == field && p.hasSuffix("cfg.json") }
                return false
            }
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.missingConfigField("hook_point"), style: .legacy)), "legacy hook") {
            if case let .missingConfigField(_, f) = $0 { return f == "hook_name" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.missingConfigField("k"), arch: "topk", k: 3)), "topk k") {
            if case let .missingConfigField(_, f) = $0 { return f == "k" }
            return false
        }
        for field in ["d_in", "k"] {
            assertSAEError(try SparseAutoencoder.load(folder: sparsify(.missingConfigField(field))), "sparsify \(field)") {
                if case let .missingConfigField(_, f) = $0 { return f == field }
                return false
            }
        }
    }

    func testConfigFieldWrongTypeAndNonJSON() throws {
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.configFieldWrongType("d_sae"))), "type") {
            if case let .configUnreadable(_, r) = $0 { return r.contains("d_sae") }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.nonJSONConfig)), "json") {
            if case let .configUnreadable(_, r) = $0 { return r.contains("not valid JSON") }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: sparsify(.nonJSONConfig)), "sparsify json") {
            if case .configUnreadable = $0 { return true }
            return false
        }
    }

    func testBadConfigValues() throws {
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(nil, arch: "crosscoder")), "arch") {
            if case let .unknownArchitecture(_, n) = $0 { return n == "crosscoder" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(nil, arch: "transcoder")), "transcoder without hook_name_out") {
            if case let .missingConfigField(_, f) = $0 { return f == "metadata.hook_name_out" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(nil, arch: "topk", k: 7)), "k > d_sae") {
            if case let .invalidConfigValue(_, f, v, _) = $0 { return f == "k" && v == "7" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(nil, extra: ["normalize_activations": "whiten"])), "norm") {
            if case let .invalidConfigValue(_, f, v, _) = $0 { return f == "normalize_activations" && v == "whiten" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(nil, extra: ["d_in": 0])), "d_in 0") {
            if case let .invalidConfigValue(_, f, _, _) = $0 { return f == "d_in" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(nil, style: .legacy, extra: ["activation_fn_str": "gelu"])), "fn") {
            if case let .unsupported(_, f, _) = $0 { return f.contains("gelu") }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: sparsify(nil, extra: ["activation": "groupmax"])), "groupmax") {
            if case let .unsupported(_, f, _) = $0 { return f.contains("groupmax") }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: sparsify(nil, extra: ["skip_connection": true])), "skip") {
            if case let .unsupported(_, f, _) = $0 { return f == "skip_connection" }
            return false
        }
    }

    func testWrongTensorShapes() throws {
        for name in ["W_enc", "W_dec", "b_enc", "b_dec"] {
            assertSAEError(try SparseAutoencoder.load(folder: saeLens(.wrongTensorShape(name))), name) {
                if case let .tensorShape(p, t, found, expected) = $0 {
                    return t == name && p.hasSuffix("sae_weights.safetensors") && found[0] == expected[0] + 1
                }
                return false
            }
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.wrongTensorShape("threshold"), arch: "jumprelu")), "threshold") {
            if case let .tensorShape(_, t, found, expected) = $0 { return t == "threshold" && found == [7] && expected == [6] }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: sparsify(.wrongTensorShape("encoder.weight"))), "encoder.weight") {
            if case let .tensorShape(_, t, found, expected) = $0 { return t == "encoder.weight" && found == [7, 4] && expected == [6, 4] }
            return false
        }
    }

    func testMissingTensors() throws {
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.missingTensor("b_dec"))), "b_dec") {
            if case let .missingTensor(_, t) = $0 { return t == "b_dec" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.missingTensor("threshold"), arch: "jumprelu")), "threshold") {
            if case let .missingTensor(_, t) = $0 { return t == "threshold" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.missingTensor("r_mag"), arch: "gated")), "r_mag") {
            if case let .missingTensor(_, t) = $0 { return t == "r_mag" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: sparsify(.missingTensor("W_dec"))), "sparsify W_dec") {
            if case let .missingTensor(_, t) = $0 { return t == "W_dec" }
            return false
        }
    }

    func testIntegerTensorAndCorruptWeights() throws {
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.integerTensor("b_enc"))), "I32") {
            if case let .tensorDType(_, t, f) = $0 { return t == "b_enc" && f == "I32" }
            return false
        }
        assertSAEError(try SparseAutoencoder.load(folder: saeLens(.corruptWeightsHeader)), "header") {
            if case .format(.invalidHeader) = $0 { return true }
            return false
        }
        assertSAEError(try SparseAutoencoder.loadSAELens(folder: saeLens(.missingWeightsFile)), "no weights") {
            if case let .unrecognizedFolder(_, r) = $0 { return r.contains("sae_weights.safetensors") }
            return false
        }
    }

    func testFolderErrors() throws {
        assertSAEError(try SparseAutoencoder.load(folder: scratch.folder("absent")), "absent") {
            if case .folderNotFound = $0 { return true }
            return false
        }
        let empty = scratch.folder("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertSAEError(try SparseAutoencoder.load(folder: empty), "empty") {
            if case let .unrecognizedFolder(_, r) = $0 { return r.contains("sae.safetensors") }
            return false
        }
        // A sparsify run folder with several hookpoints: the error lists them.
        let run = scratch.folder("run")
        for h in ["layers.0", "layers.1"] { try SAEFixtures.writeSparsify(folder: run + "/" + h, weights: w, k: 2) }
        assertSAEError(try SparseAutoencoder.load(folder: run), "run folder") {
            if case let .unrecognizedFolder(_, r) = $0 { return r.contains("layers.0, layers.1") }
            return false
        }
    }
}
