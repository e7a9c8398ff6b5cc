import ArgumentParser
import FeaturescopeCore
import Foundation
import LatentCache

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export a latent cache to other tools' layouts.",
        subcommands: [ExportDelphiCommand.self])
}

extension DelphiLocationType: ExpressibleByArgument {}

/// `featurescope export delphi CACHE_DIR --out RUN_DIR`
struct ExportDelphiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delphi",
        abstract: "Write a cache as a delphi run: split safetensors, explanations, scores.",
        discussion: """
        Split files hold every nonzero activation when the cache keeps them (caches built or imported by Featurescope \
        do by default); otherwise only the stored windows' activations, and the report says so. The newest explanation \
        and the newest score per scorer of each latent are written.
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
