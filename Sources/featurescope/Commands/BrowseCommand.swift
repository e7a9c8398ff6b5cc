import ArgumentParser
import AutoInterp
import Benchmarks
import BrowserAdapters
import CursesTerminal
import FeaturescopeCore
import Foundation
import LatentCache
import TerminalUI

/// `featurescope browse`: the terminal browser over a latent cache, a delphi run, or synthetic demo data.
struct BrowseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "browse",
        abstract: "Browse latents, explanations and scores in the terminal.",
        discussion: """
            Views: 1 latent list, 2 latent detail, 3 scored samples, 4 heads, 5 prompt. Press ? inside for all keys \
            (also in docs/keybindings.md). Themes: dark, light, high-contrast, colour-blind-safe, or a file; \
            the default comes from ~/.config/featurescope/config (theme = NAME). NO_COLOR or --no-color shows \
            activations with bold/underline/reverse only. Without a UTF-8 locale the browser draws in ASCII \
            (LANG=C.UTF-8 gives the full glyphs).
            """)

    @Argument(help: "A latent cache folder, or a delphi run (imported into $XDG_CACHE_HOME/featurescope/delphi-imports/, the run left untouched). Default: sample-data/cache.")
    var path: String?

    @Option(name: .long, help: "GGUF model for the prompt view, head splits and delphi display strings (default: the bundled SmolLM2).")
    var model: String?

    @Option(name: .customLong("sae-root"), help: "Folder tried first for the cache's SAEs: the one their recorded paths are relative to, or the one holding the SAE folders (for a moved or copied cache; then the cache's parent, the cache and the current folder).")
    var saeRoot: String?

    @Option(name: .customLong("embedded-model"), help: "Embedded explainer and scorer of e and s: a GGUF or registry name (default: the config file's embeddedModel, $FEATURESCOPE_MODEL; with none, e writes the counted pattern, no LLM, and s scores with qwen2.5-coder-1.5b-instruct).")
    var embeddedModel: String?

    @Option(name: .long, help: "Open N synthetic latents instead of a cache.")
    var demo: Int?

    @Option(name: .long, help: "Theme name (dark, light, high-contrast, colour-blind-safe) or path to a .theme file.")
    var theme: String?

    @Flag(name: .long, help: "No colours: attributes only (same as NO_COLOR=1).")
    var noColor = false

    @Flag(name: .long, help: .hidden)
    var printKeybindings = false

    @Flag(name: .long, help: .hidden)
    var benchRender = false

    @Option(name: .long, help: .hidden)
    var benchLatents = 131_072

    @Flag(name: .long, help: .hidden)
    var json = false

    /// A failure after the arguments were accepted (printed as `Error: …`, exit status 1).
    struct BrowseError: Error, CustomStringConvertible {
        var description: String
    }

    func validate() throws {
        if let n = demo, n < 1 || n > 100_000_000 {
            throw ValidationError("--demo needs a number of latents from 1 to 100000000, got \(n)")
        }
        if demo != nil && path != nil { throw ValidationError("give either a cache PATH or --demo N, not both") }
        if benchLatents < 1 || benchLatents > 100_000_000 { throw ValidationError("--bench-latents must be 1…100000000") }
    }

    func run() async throws {
        if printKeybindings {
            print(KeyBindings.markdown(), terminator: "")
            return
        }
        if benchRender { return runBenchmark() }
        let env = ProcessInfo.processInfo.environment
        let chosenTheme: Theme
        do { chosenTheme = try ThemeFile.load(name: theme, environment: env) } catch let e as ThemeError {
            throw BrowseError(description: e.description)
        }
        guard let n = demo else {
            guard let target = path ?? BrowserSource.locateSampleCache() else {
                throw BrowseError(description: BrowserSource.noSampleCacheMessage)
            }
            return try await browse(path: target, theme: chosenTheme)
        }
        let data = SyntheticBrowserData(latentCount: n)
        let environment = BrowserEnvironment(data: data, promptEngine: SyntheticPromptEngine(data: data),
                                             actionRunner: SyntheticActionRunner(data: data))
        do {
            if let sig = try await CursesBrowser.run(environment: environment, theme: chosenTheme, noColor: noColor) {
                throw ExitCode(128 + sig)
            }
        } catch let e as CursesError {
            throw BrowseError(description: e.description)
        }
    }

    /// Opens a cache or delphi run (importing with a progress line) and runs the browser on it.
    private func browse(path: String, theme chosenTheme: Theme) async throws {
        var bar: ProgressBar?
        let opened: (cache: LatentCacheDirectory, kind: BrowserSource.Kind, imported: Bool)
        do {
            opened = try BrowserSource.open(path, modelPath: model) { stage, done, total in
                guard stage == "latents" else { return }
                if bar == nil { bar = ProgressBar(total: total, label: "importing delphi run", unit: "latents") }
                bar?.update(done)
            }
        } catch let e as BrowserSource.OpenError {
            throw BrowseError(description: e.description)
        } catch {
            throw BrowseError(description: "cannot open \(SafeText.sanitize(path)): \(error)")
        }
        bar?.finish()
        let data = CacheBrowserData(cache: opened.cache, engine: EngineHost(cache: opened.cache, modelPath: model, saeRoot: saeRoot))
        let environment = BrowserEnvironment(data: data, promptEngine: EnginePromptRunner(data: data),
                                             actionRunner: CacheActionRunner(data: data, flags: LLMProviderSettings(embeddedModel: embeddedModel)),
                                             steeringEngine: EngineSteeringRunner(data: data))
        do {
            if let sig = try await CursesBrowser.run(environment: environment, theme: chosenTheme, noColor: noColor) {
                throw ExitCode(128 + sig)
            }
        } catch let e as CursesError {
            throw BrowseError(description: e.description)
        }
    }

    private func runBenchmark() {
        var results: [RenderBenchmark.Result] = []
        for size in [Size(width: 80, height: 24), Size(width: 120, height: 40), Size(width: 200, height: 60)] {
            results.append(RenderBenchmark.run(latents: benchLatents, size: size))
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let d = try? enc.encode(results), let s = String(data: d, encoding: .utf8) { print(s) }
            return
        }
        print("Browser render benchmark, \(benchLatents) synthetic latents (targets: first frame ≤ 200 ms, key ≤ 16 ms)")
        print("size      first frame   key p50   key p95   key max  cpu p95  cpu max   keys   sort(bg)   search(bg)   detail(bg)")
        for r in results {
            print(String(format: "%3d×%-3d   %8.2f ms  %6.2f ms %6.2f ms %6.2f ms %5.2f ms %5.2f ms   %4d   %6.1f ms   %7.1f ms   %7.2f ms",
                         r.width, r.height, r.firstFrameMs, r.keyP50Ms, r.keyP95Ms, r.keyMaxMs, r.keyCPUP95Ms, r.keyCPUMaxMs, r.keyPresses,
                         r.sortMs, r.searchMs, r.detailLoadMs))
            print("          slowest: " + r.slowest.joined(separator: "; "))
        }
    }
}
