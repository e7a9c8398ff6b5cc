import ArgumentParser
import FeaturescopeCore
import Foundation
import LatentCache
import SparseAutoencoders
import TensorFormats

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export a latent cache to other tools' layouts, or an SAE folder in another dtype.",
        subcommands: [ExportDelphiCommand.self, ExportSAECommand.self, ExportNeuronpediaCommand.self])
}

extension DelphiLocationType: ExpressibleByArgument {}

/// `featurescope export delphi CACHE_DIR --out RUN_DIR`
struct ExportDelphiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delphi",
        abstract: "Write a cache as a delphi run: split safetensors, explanations, scores, run_config.json, firing counts.",
        discussion: """
        Split files hold every nonzero activation when the cache keeps them (caches built or imported by Featurescope \
        do by default); otherwise only the stored windows' activations, and the report says so. The newest explanation \
        and the newest score per scorer of each latent are written, score records with every key delphi writes. \
        run_config.json holds the hookpoints, cache and sampler settings and the explainer model (per hookpoint and \
        scorer in its `featurescope` section); log/hookpoint_firing_counts.pt is in torch.save's format. delphi's \
        result_analysis and LatentDataset read the result (docs/cache-format.md, "delphi runs").
        """)

    @Argument(help: "The cache folder.") var cache: String
    @Option(help: "Where to write the delphi run.") var out: String
    @Option(help: "Split files per hookpoint (delphi n_splits).") var splits = 5
    @Option(help: "Location dtype: auto (U16 when it fits), u16 or u32.") var locations: DelphiLocationType = .auto
    @Flag(help: "Replace an existing folder at --out.") var force = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        let c = try LatentCacheDirectory.open(cache)
        let report = try DelphiExport.run(cache: c, output: out, splits: splits, locationType: locations, overwrite: force)
        if json { try printJSON(report); return }
        print("wrote \(report.splitFiles) split files (\(report.activations) activations), \(report.explanations) explanations to \(SafeText.sanitize(report.run))")
        print("scores: " + report.scores.sorted { $0.key < $1.key }.map { "\(SafeText.sanitize($0.key)) \($0.value)" }.joined(separator: ", "))
        for n in report.notes { print("note: " + SafeText.sanitize(n)) }
    }
}

/// `featurescope export sae SAE --out DIR [--dtype f16] [--hook NAME]`
struct ExportSAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Copy an SAE folder with its weights as f16, bf16 or f32, or convert a .pt, params.npz or Llama Scope SAE to a SAELens folder.",
        discussion: """
        A SAELens or sparsify folder: float tensors of every .safetensors file are converted; cfg.json, logs and reports \
        are copied unchanged (default f16, which halves the size — what sample-data/ ships; latent activations change in \
        about the 3rd significant digit).

        Any other SAE Featurescope reads — a PyTorch .pt state dict (read without running pickle code), a Gemma Scope \
        params.npz, a Llama Scope folder, or RELEASE/SAE_ID from the Hugging Face cache — is written as a SAELens v6 \
        folder (cfg.json + sae_weights.safetensors, SAELens tensor names; default f32). Its architecture and hook come \
        from the release's config when there is one (a .pt's <name>_cfg.json or cfg.json), else from the tensors; \
        --hook sets the hook. The source and the copy are both loaded to check them; the copy appears atomically.

        Examples:
          featurescope export sae work-data/saes/L3 --out sample-data/saes/L3 --dtype f16
          featurescope export sae gpt2-small_L5_Hcat_z_….pt --out saes/L5-hook-z
          featurescope export sae model.pt --hook blocks.5.attn.hook_z --out saes/L5
        """)

    @Argument(help: "The SAE: a folder, a .pt / params.npz file, or RELEASE/SAE_ID.") var sae: String
    @Option(help: "Where to write the folder.") var out: String
    @Option(help: "Storage dtype: f16, bf16 or f32 (default: f16 for a folder copy, f32 for a conversion).") var dtype: String?
    @Option(help: "The hook the SAE reads (TransformerLens name), when its files do not say or say otherwise.") var hook: String?
    @Flag(help: "Replace an existing folder at --out.") var force = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        let copy = SAEFolderConversion.isSAEFolder(sae) && hook == nil
        let name = dtype ?? (copy ? "f16" : "f32")
        guard let d = SafetensorsDType(rawValue: name.uppercased()), [.F32, .F16, .BF16].contains(d) else {
            throw ValidationError("--dtype must be f16, bf16 or f32 (got \(SafeText.sanitize(name)))")
        }
        let r = copy ? try SAEFolderConversion.convert(folder: sae, output: out, dtype: d, overwrite: force)
            : try SAEFolderConversion.exportSAELens(try SAEResolver.load(sae, options: SAELoadOptions(hookpoint: hook)), output: out,
                                                    dtype: d, overwrite: force)
        if json { try printJSON(r); return }
        print("wrote \(SafeText.sanitize(r.output)): \(r.convertedTensors) tensors as \(r.dtype), \(r.copiedFiles.count) files copied; "
              + "\(r.bytesBefore) → \(r.bytesAfter) bytes; worst |Δ| \(String(format: "%.3g", r.worstAbsoluteError))")
    }
}
