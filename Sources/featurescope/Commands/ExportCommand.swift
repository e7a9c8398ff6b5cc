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

/// `featurescope export sae SAE_DIR --out DIR --dtype f16`
struct ExportSAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Copy an SAE folder (SAELens or sparsify hook folder) with its weights stored as f16, bf16 or f32.",
        discussion: """
        Float tensors of every .safetensors file are converted; cfg.json, logs and reports are copied unchanged. The \
        source and the copy are both loaded as SAEs to check them; the copy appears atomically. f16 halves the size \
        (what sample-data/ ships); latent activations change in about the 3rd significant digit.

        Example:
          featurescope export sae work-data/saes/L3 --out sample-data/saes/L3 --dtype f16
        """)

    @Argument(help: "The SAE folder.") var sae: String
    @Option(help: "Where to write the converted folder.") var out: String
    @Option(help: "Storage dtype: f16, bf16 or f32.") var dtype: String = "f16"
    @Flag(help: "Replace an existing folder at --out.") var force = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        guard let d = SafetensorsDType(rawValue: dtype.uppercased()), [.F32, .F16, .BF16].contains(d) else {
            throw ValidationError("--dtype must be f16, bf16 or f32 (got \(SafeText.sanitize(dtype)))")
        }
        let r = try SAEFolderConversion.convert(folder: sae, output: out, dtype: d, overwrite: force)
        if json { try printJSON(r); return }
        print("wrote \(SafeText.sanitize(r.output)): \(r.convertedTensors) tensors as \(r.dtype), \(r.copiedFiles.count) files copied; "
              + "\(r.bytesBefore) → \(r.bytesAfter) bytes; worst |Δ| \(String(format: "%.3g", r.worstAbsoluteError))")
    }
}
