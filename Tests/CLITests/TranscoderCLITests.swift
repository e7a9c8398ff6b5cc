import Foundation
import XCTest

/// A SAELens transcoder on SmolLM2 (Tests/Fixtures/transcoders/smollm2-l3-resid-mid-to-mlp-out: reads
/// blocks.3.hook_resid_mid, the input of ln2, writes blocks.3.hook_mlp_out; random weights made by SAELens)
/// through the real binary: `corpus` → `cache` (the manifest records both hooks) → `cache-info` → `browse`,
/// whose detail header says "reads … → writes …". Needs the cached SmolLM2 GGUF, as the other model tests.
final class TranscoderCLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = (ProcessInfo.processInfo.environment["HOME"] ?? "") + "/.cache/featurescope/SmolLM2-135M-Instruct.Q4_1.gguf"

    @discardableResult
    func run(_ bin: String, _ args: [String], cwd: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "featurescope \(args.joined(separator: " ")): \(String(decoding: errData, as: UTF8.self))")
        return text
    }

    func testTranscoderCacheAndBrowseOnSmolLM2() throws {
        guard let bin = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.model), "the model must be at \(Self.model)")
        let sae = Self.root.appendingPathComponent("Tests/Fixtures/transcoders/smollm2-l3-resid-mid-to-mlp-out").path
        let dir = NSTemporaryDirectory() + "fs-transcoder-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/docs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let words = "the cat sat on a mat while dogs ran in the park and children played with red balls near the river".split(separator: " ")
        var rng: UInt64 = 7
        for d in 0 ..< 4 {
            var text: [Substring] = []
            for _ in 0 ..< 80 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; text.append(words[Int(rng >> 33) % words.count]) }
            try (text.joined(separator: " ") + ".\n").write(toFile: dir + "/docs/d\(d).txt", atomically: true, encoding: .utf8)
        }
        try run(bin, ["corpus", "docs", "--out", "corp", "--context-length", "64", "--heldout-fraction", "0", "--model", Self.model, "--json"], cwd: dir)
        try run(bin, ["cache", "--model", Self.model, "--tokens", "corp/train.tokens", "--sae", sae, "--out", "tc", "--json"], cwd: dir)

        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/tc/manifest.json"))) as? [String: Any]
        let spec = ((manifest?["parts"] as? [[String: Any]])?.first?["spec"]) as? [String: Any]
        XCTAssertEqual(spec?["hook"] as? String, "blocks.3.hook_resid_mid")
        XCTAssertEqual(spec?["hookOut"] as? String, "blocks.3.hook_mlp_out")
        XCTAssertEqual(spec?["latentCount"] as? Int, 64)
        let info = try run(bin, ["cache-info", "tc"], cwd: dir)
        XCTAssertTrue(info.contains("blocks.3.hook_resid_mid → writes blocks.3.hook_mlp_out — 64 latents"), info)

        // Neuronpedia export: the logit lens reads the decoder rows at the output hook (mlp_out, residual width);
        // the export imports back with the same examples.
        try run(bin, ["export", "neuronpedia", "tc", "--out", "np", "--model", Self.model, "--json"], cwd: dir)
        let folder = "np/smollm2-135m-instruct_featurescope-hook-resid-mid_blocks.3.hook_resid_mid_64"
        let batch = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + folder + "/batch-0.json"))) as? [String: Any]
        let features = batch?["features"] as? [[String: Any]] ?? []
        XCTAssertFalse(features.isEmpty)
        XCTAssertEqual((features.first?["pos_str"] as? [String])?.count, 10, "logit lens through W_U at the output hook")
        let settings = try String(contentsOfFile: dir + "/" + folder + "/run_settings.json", encoding: .utf8)
        XCTAssertTrue(settings.contains("\"featurescope_hook_name_out\":\"blocks.3.hook_mlp_out\""), settings)
        let imported = try run(bin, ["import", "neuronpedia", "np", "--out", "back", "--json"], cwd: dir)
        XCTAssertTrue(imported.contains("\"parts\""), imported)
        let back = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/back/manifest.json"))) as? [String: Any]
        let backSpec = ((back?["parts"] as? [[String: Any]])?.first?["spec"]) as? [String: Any]
        XCTAssertEqual(backSpec?["hookOut"] as? String, "blocks.3.hook_mlp_out")

        let tmux = try Tmux.make()
        try tmux.newSession(width: 140, height: 30, ["sh", "-c", "cd '\(dir)' && '\(bin)' browse tc --model '\(Self.model)'; echo EXIT=$?; sleep 30"])
        defer { tmux.shutDown() }
        _ = try tmux.waitFor("the latent list") { $0.contains("latent▲") }
        try tmux.keys("Enter")
        let screen = try tmux.waitFor("the transcoder's detail header") { $0.contains("Latent #") && $0.contains("Top activations") }
        XCTAssertTrue(screen.contains("reads blocks.3.hook_resid_mid → writes blocks.3.hook_mlp_out"), screen)
        try tmux.keys("q")
        _ = try tmux.waitFor("the exit") { $0.contains("EXIT=0") }
    }
}
