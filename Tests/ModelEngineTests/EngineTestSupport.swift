import Foundation
import ModelEngine
import XCTest

/// Shared fixtures: the real model (loaded once per test process) and the reference data folder.
enum EngineFixtures {
    /// The model; `.failure` carries why it could not be loaded (nil error = not fetched).
    static let loaded: Result<TransformerModel, LoadFailure> = {
        let path = ModelLocator.resolve(explicit: nil)
        guard FileManager.default.fileExists(atPath: path) else { return .failure(LoadFailure(message: nil)) }
        do { return .success(try TransformerModel(path: path)) } catch {
            return .failure(LoadFailure(message: "\(path): \(error)"))
        }
    }()

    struct LoadFailure: Error { let message: String? }

    /// Tests/Fixtures/smollm2: the SmolLM2 reference (Hugging Face float32 and llama.cpp ids), trimmed to
    /// what the tests read by scripts/trim-refdata.py and committed.
    static let refdataDirectory: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/smollm2").path

    /// The bytes of one reference file; a missing fixture fails the test (never skips).
    static func refdataFile(_ name: String) throws -> Data {
        let path = refdataDirectory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            XCTFail("missing fixture \(path); it is committed (scripts/trim-refdata.py makes it)")
            throw CocoaError(.fileNoSuchFile)
        }
        return data
    }

    /// The model; skips the test when it has not been fetched, fails it when it is there but does not load.
    static func requireModel() throws -> TransformerModel {
        switch loaded {
        case .success(let m): return m
        case .failure(let f):
            guard let message = f.message else { throw XCTSkip("model not fetched (featurescope model fetch)") }
            XCTFail("the model is present but does not load: \(message)")
            throw f
        }
    }

    /// One reference prompt file, parsed.
    static func reference(_ name: String) throws -> ReferencePrompt {
        try ReferencePrompt(json: refdataFile(name + ".json"))
    }
}

/// The parts of a Tests/Fixtures/smollm2/<prompt>.json file the engine tests use.
struct ReferencePrompt {
    let name: String
    let tokens: [Int32]
    let topIDs: [[Int]]
    let topValues: [[Float]]
    let finalLogits: [Float]?
    let activationPositions: [Int]
    /// layer → (z, resid_out), each [positions][576]
    let activations: [Int: (z: [[Float]], resid: [[Float]])]
    let greedy16: [Int32]

    init(json: Data) throws {
        guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any],
              let tok = root["tokens"] as? [String: Any], let hf = root["hf"] as? [String: Any] else {
            XCTFail("unexpected reference JSON layout (no tokens or hf object)")
            throw CocoaError(.fileReadCorruptFile)
        }
        func floats(_ a: Any?) -> [Float] { (a as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue } ?? [] }
        func ints(_ a: Any?) -> [Int] { (a as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? [] }
        name = root["name"] as? String ?? "?"
        tokens = ints(tok["llamacpp_ids_add_bos_true_special_true"]).map { Int32($0) }
        topIDs = (hf["logits_top_ids"] as? [Any])?.map { ints($0) } ?? []
        topValues = (hf["logits_top_values"] as? [Any])?.map { floats($0) } ?? []
        let full = floats(hf["final_position_full_logits"])
        finalLogits = full.isEmpty ? nil : full
        activationPositions = ints(hf["activation_positions"])
        var acts: [Int: (z: [[Float]], resid: [[Float]])] = [:]
        for (key, value) in (hf["activations"] as? [String: Any]) ?? [:] {
            guard let layer = Int(key), let d = value as? [String: Any] else { continue }
            let z = (d["z"] as? [Any])?.map { floats($0) } ?? []
            let r = (d["resid_out"] as? [Any])?.map { floats($0) } ?? []
            acts[layer] = (z, r)
        }
        activations = acts
        greedy16 = ints(hf["greedy_16"]).map { Int32($0) }
    }
}

/// Worst mismatch of `actual` against `expected` under |Δ| ≤ abs + rel·|ref|, for printing.
struct Mismatch: CustomStringConvertible {
    var worstExcess: Float = -.infinity
    var worstDelta: Float = 0
    var worstRef: Float = 0
    var worstIndex = -1
    var violations = 0
    var checked = 0

    mutating func check(_ actual: Float, _ expected: Float, abs absTol: Float, rel: Float, index: Int) {
        let delta = Swift.abs(actual - expected)
        let tol = absTol + rel * Swift.abs(expected)
        let excess = delta - tol
        checked += 1
        if !(excess <= 0) { violations += 1 }
        if excess > worstExcess || excess.isNaN {
            worstExcess = excess
            worstDelta = delta
            worstRef = expected
            worstIndex = index
        }
    }

    var description: String {
        "\(checked) checked, \(violations) over tolerance; worst |Δ| \(worstDelta) at #\(worstIndex) (ref \(worstRef), margin \(-worstExcess))"
    }
}
