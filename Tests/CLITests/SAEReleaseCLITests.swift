import Foundation
import XCTest

/// `--sae RELEASE/SAE_ID` end to end through the binary: a Hugging Face hub cache laid out as the hub writes it
/// (blobs + snapshot symlinks + refs/main, built here), the attention-SAE paper's release resolved from the built-in
/// registry, and the tiny GPT-2 checkpoint as the model. The latents printed equal SAELens's encode of
/// TransformerLens's hook_z (Tests/Fixtures/sae-formats/expected.json "kissane_tl").
final class SAEReleaseCLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    /// The file name SAELens's registry (and Featurescope's built-in list) gives layer 1 of gpt2-small-hook-z-kk.
    static let layer1 = "gpt2-small_L1_Hcat_z_lr1.20e-03_l18.00e-01_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v5"

    struct Result { let status: Int32; let out: String; let err: String }

    func run(_ binary: String, _ args: [String], env: [String: String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    func testRunResolvesAReleaseFromTheHubCache() throws {
        guard let binary = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        let fm = FileManager.default
        let scratch = NSTemporaryDirectory() + "fs-sae-cli-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? fm.removeItem(atPath: scratch) }
        let hub = scratch + "/hub"
        let env = ["PATH": "/usr/bin:/bin", "HOME": scratch, "HF_HUB_CACHE": hub, "LC_ALL": "C.UTF-8"]
        let args = ["run", "--model", Self.fixtures + "/tiny-models/gpt2", "--sae", "gpt2-small-hook-z-kk/blocks.1.hook_z",
                    "--ids", "5,17,42,99,250,3,77,128", "--top", "5", "--json"]

        // Not cached yet: a message naming the missing file and the download command.
        let missing = try run(binary, args, env: env)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("huggingface-cli download ckkissane/attn-saes-gpt2-small-all-layers \(Self.layer1).pt"), missing.err)

        // Lay the repo out as the hub does.
        let sha = "4f1d0c1e9a7b3c2d5e6f708192a3b4c5d6e7f809"
        let repo = hub + "/models--ckkissane--attn-saes-gpt2-small-all-layers"
        try fm.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: repo + "/refs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: repo + "/snapshots/" + sha, withIntermediateDirectories: true)
        XCTAssertTrue(fm.createFile(atPath: repo + "/refs/main", contents: Data(sha.utf8)))
        let source = Self.fixtures + "/sae-formats/kissane"
        let pt = try XCTUnwrap(try fm.contentsOfDirectory(atPath: source).first { $0.hasSuffix(".pt") }, "fixture missing")
        let stem = String(pt.dropLast(3))
        for (blob, from, name) in [("aa01", pt, Self.layer1 + ".pt"), ("aa02", stem + "_cfg.json", Self.layer1 + "_cfg.json")] {
            try fm.copyItem(atPath: source + "/" + from, toPath: repo + "/blobs/" + blob)
            try fm.createSymbolicLink(atPath: repo + "/snapshots/\(sha)/" + name, withDestinationPath: "../../blobs/" + blob)
        }

        let r = try run(binary, args, env: env)
        XCTAssertEqual(r.status, 0, r.err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        XCTAssertEqual(json["hook"] as? String, "blocks.1.attn.hook_z")
        let tokens = try XCTUnwrap(json["tokens"] as? [[String: Any]])
        XCTAssertEqual(tokens.count, 8)

        let expectedData = try XCTUnwrap(fm.contents(atPath: Self.fixtures + "/sae-formats/expected.json"))
        let expected = try XCTUnwrap((try JSONSerialization.jsonObject(with: expectedData) as? [String: Any])?["kissane_tl"] as? [String: Any])
        let acts = try XCTUnwrap(expected["activations"] as? [[Double]])
        for (t, token) in tokens.enumerated() {
            let latents = try XCTUnwrap(token["latents"] as? [[String: Any]])
            let want = acts[t].enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.prefix(5)
            XCTAssertEqual(latents.map { $0["index"] as? Int ?? -1 }, want.map(\.offset), "token \(t): top latents as SAELens on TL's hook_z")
            for (got, w) in zip(latents, want) {
                XCTAssertEqual(got["activation"] as? Double ?? 0, w.element, accuracy: 1e-3 * max(1, w.element))
            }
        }

        // sae list sees it as cached.
        let list = try run(binary, ["sae", "list", "--release", "gpt2-small-hook-z-kk", "--cached"], env: env)
        XCTAssertEqual(list.status, 0, list.err)
        XCTAssertTrue(list.out.contains("cached  gpt2-small-hook-z-kk/blocks.1.hook_z"), list.out)
        XCTAssertFalse(list.out.contains("blocks.2.hook_z"), list.out)

        // export sae converts the cached .pt to a SAELens folder.
        let out = scratch + "/exported"
        let ex = try run(binary, ["export", "sae", "gpt2-small-hook-z-kk/blocks.1.hook_z", "--out", out, "--json"], env: env)
        XCTAssertEqual(ex.status, 0, ex.err)
        XCTAssertTrue(fm.fileExists(atPath: out + "/sae_weights.safetensors"))
        let cfg = String(decoding: fm.contents(atPath: out + "/cfg.json") ?? Data(), as: UTF8.self)
        XCTAssertTrue(cfg.contains("\"hook_name\" : \"blocks.1.attn.hook_z\""), cfg)
        XCTAssertTrue(cfg.contains("\"fold_value_biases\" : true"), cfg)
    }
}
