import ArgumentParser
import FeaturescopeCore
import Foundation
import SparseAutoencoders

struct SAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae", abstract: "SAE releases: what the registry lists and what is in the Hugging Face cache.",
        subcommands: [SAEListCommand.self])
}

/// `featurescope sae list [--release NAME] [--json]`
struct SAEListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List SAE releases (or one release's SAEs) and which are in the Hugging Face cache.",
        discussion: """
        The registry is SAELens's pretrained_saes.yaml: --registry, else $FEATURESCOPE_SAE_REGISTRY, else the file of an \
        installed sae_lens package (virtualenv, conda, user, system or pyenv site-packages; found without running Python), \
        else a built-in list of the attention-SAE paper's GPT-2 small releases. The cache is $HF_HUB_CACHE, $HF_HOME/hub \
        or ~/.cache/huggingface/hub. Pass any cached SAE to --sae as RELEASE/SAE_ID.

        JSON (--json): {"registry", "releases": [{"release", "repo_id", "model", "conversion", "readable", "sae_count", \
        "cached_count", "saes": [{"id", "path", "l0", "cached"}] (with --release)}]}.
        """)

    @Option(help: "A pretrained_saes.yaml to read instead of the installed one.") var registry: String?
    @Option(help: "List the SAEs of this release.") var release: String?
    @Flag(help: "Only releases (or SAEs) with files in the Hugging Face cache.") var cached = false
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        let registry: String
        let releases: [SAEResolver.ReleaseStatus]
    }

    func run() async throws {
        let reg = try SAERegistry.load(explicit: registry)
        var rows = SAEResolver.status(of: reg, withEntries: release != nil)
        if let release {
            rows = rows.filter { $0.release == release }
            guard !rows.isEmpty else { throw ValidationError("no release '\(SafeText.sanitize(release))' in \(SafeText.sanitize(reg.source))") }
        }
        if cached {
            rows = rows.filter { $0.cachedCount > 0 }
            for i in rows.indices { rows[i].saes = rows[i].saes?.filter(\.cached) }
        }
        if json { try printJSON(Output(registry: reg.source, releases: rows)); return }
        print("registry: \(SafeText.sanitize(reg.source))")
        if release != nil, let r = rows.first {
            print("\(SafeText.sanitize(r.release)) (\(SafeText.sanitize(r.repoID)), \(r.conversion)\(r.readable ? "" : ", not readable by Featurescope"))")
            for e in r.saes ?? [] {
                print("  \(e.cached ? "cached " : "       ") \(SafeText.sanitize(r.release))/\(SafeText.sanitize(e.id))")
            }
            return
        }
        for r in rows {
            let state = r.readable ? "\(r.cachedCount)/\(r.saeCount) cached" : "\(r.saeCount) SAEs, format not read (\(r.conversion))"
            print("\(SafeText.sanitize(r.release))  \(SafeText.sanitize(r.repoID))  \(state)")
        }
    }
}
