import Foundation
import SparseAutoencoders
import TestSupport
import XCTest

/// A Hugging Face hub cache laid out as the hub writes it (blobs, snapshot symlinks, refs/main), built per test.
struct HubCacheFixture {
    let root: String

    init(root: String) { self.root = root }

    /// Adds `files` (repo path → source file) to repo `repo` at revision `sha`, as blobs linked from the snapshot.
    func add(repo: String, files: [String: String], sha: String = "0123456789abcdef0123456789abcdef01234567") throws {
        let fm = FileManager.default
        let base = root + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
        try fm.createDirectory(atPath: base + "/refs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: base + "/blobs", withIntermediateDirectories: true)
        _ = fm.createFile(atPath: base + "/refs/main", contents: Data(sha.utf8))
        for (i, (path, source)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            let blob = base + "/blobs/blob\(i)-\(abs(path.hashValue))"
            try? fm.removeItem(atPath: blob)
            try fm.copyItem(atPath: source, toPath: blob)
            let link = base + "/snapshots/" + sha + "/" + path
            try fm.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: link, withDestinationPath: blob)
        }
    }
}

final class ResolverTests: XCTestCase {
    static let root = FormatLoaderTests.root

    static let registryYAML = """
    gemma-scope-2b-pt-att:
      conversion_func: gemma_2
      model: gemma-2-2b
      repo_id: google/gemma-scope-2b-pt-att
      saes:
      - id: layer_1/width_16k/average_l0_12
        path: layer_1/width_16k/average_l0_12
        l0: 12.0
    gpt2-small-hook-z-kk:
      conversion_func: connor_rob_hook_z
      links:
        model: https://huggingface.co/gpt2
      model: gpt2-small
      repo_id: ckkissane/attn-saes-gpt2-small-all-layers
      saes:
      - id: blocks.1.hook_z
        l0: 23.0
        neuronpedia: gpt2-small/1-att-kk
        path: 'gpt2-small_L1_x.pt'
    llama_scope_lxa_8x:
      conversion_func: llama_scope
      model: meta-llama/Llama-3.1-8B
      repo_id: fnlp/Llama3_1-8B-Base-LXA-8x
      saes:
      - id: l1a_8x
        l0: 50.0
        norm_scaling_factor: 0.5954
        path: Llama3_1-8B-Base-L1A-8x
    some-transcoders:
      conversion_func: mntss_clt_layer
      config_overrides:
        dataset_path: x/y
      model: gpt2
      repo_id: org/clt
      saes:
      - id: layer_0
        path: layer_0
    """

    func testYAMLSubsetAsPretrainedSAEsUsesIt() throws {
        let reg = try SAERegistry.parse(Self.registryYAML, path: "test.yaml")
        XCTAssertEqual(reg.releases.map(\.name), ["gemma-scope-2b-pt-att", "gpt2-small-hook-z-kk", "llama_scope_lxa_8x", "some-transcoders"])
        let kk = try XCTUnwrap(reg.release("gpt2-small-hook-z-kk"))
        XCTAssertEqual(kk.repoID, "ckkissane/attn-saes-gpt2-small-all-layers")
        XCTAssertEqual(kk.saes.first?.path, "gpt2-small_L1_x.pt", "quotes stripped")
        XCTAssertEqual(kk.saes.first?.l0, 23)
        XCTAssertEqual(reg.release("llama_scope_lxa_8x")?.saes.first?.normScalingFactor, 0.5954)
        XCTAssertFalse(try XCTUnwrap(reg.release("some-transcoders")).isReadable)
        assertSAEError(try SAERegistry.parse("a:\n  saes:\n  - id: x\n", path: "bad.yaml"), "no repo_id") { "\($0)".contains("repo_id") }
        // The built-in list: the attention-SAE paper's twelve GPT-2 small layers.
        let builtIn = try XCTUnwrap(SAERegistry.builtIn.release("gpt2-small-hook-z-kk"))
        XCTAssertEqual(builtIn.saes.map(\.id), (0 ..< 12).map { "blocks.\($0).hook_z" })
        XCTAssertTrue(builtIn.saes[5].path.contains("ds49152"))
    }

    func testReleasesResolveFromTheHubCacheOffline() throws {
        let scratch = try SAEScratch()
        let cache = HubCacheFixture(root: scratch.folder("hub"))
        let env = ["HF_HUB_CACHE": cache.root, "HOME": scratch.path]
        let reg = try SAERegistry.parse(Self.registryYAML, path: "test.yaml")
        let kkCfg = (FormatLoaderTests.kissanePT as NSString).deletingPathExtension + "_cfg.json"

        // Not cached: the message names the repo, the file and the download command.
        assertSAEError(try SAEResolver.load("gpt2-small-hook-z-kk/blocks.1.hook_z", registry: reg, environment: env), "not cached") {
            "\($0)".contains("huggingface-cli download ckkissane/attn-saes-gpt2-small-all-layers gpt2-small_L1_x.pt gpt2-small_L1_x_cfg.json")
        }
        // Only the .pt cached: the missing config file is named.
        try cache.add(repo: "ckkissane/attn-saes-gpt2-small-all-layers", files: ["gpt2-small_L1_x.pt": FormatLoaderTests.kissanePT])
        assertSAEError(try SAEResolver.load("gpt2-small-hook-z-kk/blocks.1.hook_z", registry: reg, environment: env), "half cached") {
            "\($0)".contains("gpt2-small_L1_x_cfg.json of ckkissane")
        }
        try cache.add(repo: "ckkissane/attn-saes-gpt2-small-all-layers", files: ["gpt2-small_L1_x_cfg.json": kkCfg])
        let kk = try SAEResolver.load("gpt2-small-hook-z-kk/blocks.1.hook_z", registry: reg, environment: env)
        XCTAssertEqual(kk.config.metadata.hookName, "blocks.1.attn.hook_z")
        XCTAssertEqual(kk.config.metadata.foldedValueBiases, true)
        XCTAssertTrue(kk.weightsPath?.contains("/snapshots/") ?? false)

        // Gemma Scope: the hook comes from the cached repo's name.
        try cache.add(repo: "google/gemma-scope-2b-pt-att", files: ["layer_1/width_16k/average_l0_12/params.npz": FormatLoaderTests.gemmaNPZ])
        let gs = try SAEResolver.load("gemma-scope-2b-pt-att/layer_1/width_16k/average_l0_12", registry: reg, environment: env)
        XCTAssertEqual(gs.config.metadata.hookName, "blocks.1.attn.hook_z")

        // Llama Scope: norm_scaling_factor from the registry is the scale folded in.
        let ls = Self.root + "/llama-scope/Llama3_1-8B-Base-L1A-8x"
        try cache.add(repo: "fnlp/Llama3_1-8B-Base-LXA-8x", files: ["Llama3_1-8B-Base-L1A-8x/hyperparams.json": ls + "/hyperparams.json",
                                                                    "Llama3_1-8B-Base-L1A-8x/checkpoints/final.safetensors": ls + "/checkpoints/final.safetensors"])
        let l = try SAEResolver.load("llama_scope_lxa_8x/l1a_8x", registry: reg, environment: env)
        XCTAssertEqual(l.foldedActivationScale ?? 0, 0.5954, accuracy: 1e-6)

        // Unknown id, unreadable release, unknown release.
        assertSAEError(try SAEResolver.resolve("gpt2-small-hook-z-kk/blocks.9.hook_z", registry: reg, environment: env), "id") {
            "\($0)".contains("has no SAE 'blocks.9.hook_z'") && "\($0)".contains("blocks.1.hook_z")
        }
        assertSAEError(try SAEResolver.resolve("some-transcoders/layer_0", registry: reg, environment: env), "unreadable") {
            "\($0)".contains("mntss_clt_layer")
        }
        assertSAEError(try SAEResolver.resolve("nope/x", registry: reg, environment: env), "unknown") { "\($0)".contains("no release 'nope'") }

        // The listing.
        let status = SAEResolver.status(of: reg, withEntries: true, environment: env)
        XCTAssertEqual(status.map(\.cachedCount), [1, 1, 1, 0])
        XCTAssertEqual(status[3].readable, false)
    }

    func testSparsifyRepoInTheCache() throws {
        let scratch = try SAEScratch()
        let cache = HubCacheFixture(root: scratch.folder("hub"))
        let src = scratch.folder("src/layers.3")
        try SAEFixtures.writeSparsify(folder: src, weights: .random(dIn: 8, dSAE: 16, seed: 3), k: 4)
        try cache.add(repo: "EleutherAI/sae-tiny-16", files: ["layers.3/cfg.json": src + "/cfg.json", "layers.3/sae.safetensors": src + "/sae.safetensors"])
        let env = ["HF_HUB_CACHE": cache.root, "HOME": scratch.path]
        let reg = SAERegistry(releases: [], source: "empty")
        let sae = try SAEResolver.load("EleutherAI/sae-tiny-16/layers.3", registry: reg, environment: env)
        XCTAssertEqual(sae.config.metadata.hookName, "blocks.3.hook_resid_post")
        assertSAEError(try SAEResolver.resolve("EleutherAI/sae-tiny-16/layers.9", registry: reg, environment: env), "hook") {
            "\($0)".contains("layers.3")
        }
    }

    func testRegistryIsFoundInAnInstalledSAELensPackage() throws {
        let scratch = try SAEScratch()
        let pkg = scratch.folder("venv/lib/python3.12/site-packages/sae_lens")
        try FileManager.default.createDirectory(atPath: pkg, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: pkg + "/pretrained_saes.yaml", contents: Data(Self.registryYAML.utf8))
        let env = ["VIRTUAL_ENV": scratch.folder("venv"), "HOME": scratch.path]
        XCTAssertEqual(SAERegistry.locate(environment: env), pkg + "/pretrained_saes.yaml")
        XCTAssertEqual(try SAERegistry.load(environment: env).releases.count, 4)
        XCTAssertEqual(SAERegistry.locate(environment: env.merging(["FEATURESCOPE_SAE_REGISTRY": "/x.yaml"]) { $1 }), "/x.yaml")
    }
}
