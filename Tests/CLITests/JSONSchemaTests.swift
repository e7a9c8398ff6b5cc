import Foundation
import TestSupport
import XCTest

/// The `--json` output of every command that has one keeps its shape (keys and types, `JSONShape`): each is run on
/// the tiny fixtures (the tiny Llama checkpoint, a corpus of Tests/Fixtures/pipeline/documents.jsonl, a local
/// OpenAI-compatible server for explain/score) and compared with Tests/Fixtures/cli-json/<command>.txt.
/// `scripts/update-cli-json` rewrites the files after a deliberate change (review the diff: scripts and other
/// programs read these keys). A command whose help offers --json but has no schema file fails. (`browse
/// --bench-render --json`, a hidden developer flag, is left out: its benchmark alone takes ten seconds.)
final class JSONSchemaTests: XCTestCase {
    static let schemaDirectory = CLIRunner.fixtures.appendingPathComponent("cli-json").path
    static var updating: Bool { ProcessInfo.processInfo.environment["FEATURESCOPE_UPDATE_CLI_JSON"] == "1" }

    func check(_ name: String, _ output: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = Self.schemaDirectory + "/" + name + ".txt"
        let shape: String
        do { shape = try JSONShape.describe(output) } catch {
            return XCTFail("\(name): the output is not JSON (\(error)): \(output.prefix(400))", file: file, line: line)
        }
        if Self.updating {
            try? FileManager.default.createDirectory(atPath: Self.schemaDirectory, withIntermediateDirectories: true)
            XCTAssertNoThrow(try shape.write(toFile: path, atomically: true, encoding: .utf8), file: file, line: line)
            return
        }
        guard let expected = FileManager.default.contents(atPath: path) else {
            return XCTFail("no schema \(path); run scripts/update-cli-json", file: file, line: line)
        }
        XCTAssertEqual(shape, String(decoding: expected, as: UTF8.self),
                       "the --json shape of `\(name)` changed; run scripts/update-cli-json if that is deliberate", file: file, line: line)
    }

    func testEveryJSONOutputKeepsItsShape() throws {
        guard let binary = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        let dir = NSTemporaryDirectory() + "fs-json-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try CLIRunner.tinyModel(in: dir)
        var fs = CLIRunner(binary: binary, cwd: dir)
        fs.environment["XDG_CACHE_HOME"] = dir + "/xdg"
        fs.environment["HF_HUB_CACHE"] = dir + "/hf"  // `sae list` looks there: keep it hermetic
        let text = CLIRunner.fixtures.appendingPathComponent("pipeline/documents.jsonl").path
        var covered: Set<String> = []
        func run(_ name: String, _ args: [String]) throws {
            check(name, try fs(args + ["--json"]))
            covered.insert(name.split(separator: ".").prefix(["export", "import", "model", "sae"].contains { name.hasPrefix($0 + ".") } ? 2 : 1)
                .joined(separator: "."))
        }

        // Commands that need nothing from the chain below run meanwhile (two at a time, beside it).
        let independent: [(name: String, args: [String])] = [
            ("tokenize", ["tokenize", "The river ran low", "--model", model]),
            ("generate", ["generate", "--ids", "1,40,41", "--model", model, "--max-tokens", "3", "--seed", "1"]),
            ("model.info", ["model", "info", "--model", CLIRunner.fixtures.appendingPathComponent("tokenizers/gguf/llama-bpe.gguf").path, "--verify"]),
            ("model.list", ["model", "list", "--cache-dir", dir + "/models"]),
            ("heads", ["heads", "--model", model, "--sequences", "1", "--length", "8"]),
            ("sae.list", ["sae", "list"]),
            ("bench", ["bench", "--model", model, "--only", "generate", "--runs", "1", "--threads", "1"]),
            ("cache-bench", ["cache-bench", "--cache", dir + "/bench-cache", "--latents", "64", "--rows", "8", "--row-length", "32",
                             "--active-per-token", "4", "--samples", "8", "--no-forward"]),
        ]
        let results = ResultBox(count: independent.count)
        let runner = fs
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            for (i, job) in independent.enumerated() { results.set(i, Result { try runner.output(job.args + ["--json"]) }) }
        }

        try run("corpus", ["corpus", text, "--out", "corpus", "--model", model, "--context-length", "24", "--heldout-fraction", "0.3", "--workers", "1"])
        try run("corpus.inspect", ["corpus", "--inspect", "corpus/train.tokens", "--model", model, "--show-rows", "1"])
        try run("collect", ["collect", "--tokens", "corpus/train.tokens", "--model", model, "--out", "store", "--hooks", "blocks.1.attn.hook_z"])
        try run("train", ["train", "--activations", "store", "--hook", "blocks.1.attn.hook_z", "--out", "sae", "--k", "4", "--width", "32",
                          "--batch", "24", "--steps", "3", "--threads", "1", "--quiet"])
        try run("export.sae", ["export", "sae", "sae", "--out", "sae16", "--dtype", "f16"])
        try run("eval-sae", ["eval-sae", "--sae", "sae16", "--tokens", "corpus/heldout.tokens", "--model", model, "--max-tokens", "48",
                             "--ce-tokens", "48", "--bootstrap", "10", "--quiet"])
        try run("cache", ["cache", "--sae", "sae16", "--tokens", "corpus/train.tokens", "--model", model, "--out", "cache",
                          "--window", "8", "--top", "4", "--per-quantile", "2", "--random", "3"])
        try run("cache-info", ["cache-info", "cache", "--verify"])

        func completion(_ text: String) -> LocalHTTPServer.Reply {
            let content = String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self)
            return .respond(status: 200, body: #"{"id":"c","model":"served","choices":[{"index":0,"message":{"role":"assistant","content":"#
                            + content + #"},"finish_reason":"stop"}]}"#)
        }
        let server = try LocalHTTPServer(replies: [completion("[EXPLANATION]: words of a river"), completion("[EXPLANATION]: letters")],
                                         fallback: completion("[1, 0, 1, 0, 1]"), maxConnections: 200)
        defer { server.stop() }
        let llm = ["--base-url", server.baseURL.absoluteString, "--model", "served", "--concurrency", "1", "--retries", "0", "--timeout", "10",
                   "--latents", "0-1", "--min-examples", "1"]
        try run("explain", ["explain", "cache"] + llm)
        try run("score", ["score", "cache", "--scorer", "detection"] + llm)
        try run("export.delphi", ["export", "delphi", "cache", "--out", "delphi"])
        try run("import.delphi", ["import", "delphi", "delphi", "--out", "imported", "--model", model, "--window", "8"])
        try run("import.annotations", ["import", "annotations", "delphi", "--cache", "imported"])
        // A pristine cache's overlay (template explanations: no LLM) folded back into it.
        try Data("pristine\n".utf8).write(to: URL(fileURLWithPath: dir + "/imported/PRISTINE"))
        fs.environment["FEATURESCOPE_DATA_DIR"] = dir + "/data"
        _ = try fs(["explain", "imported", "--template", "--latents", "0-1", "--min-examples", "1", "--json"])
        try run("import.overlay", ["import", "overlay", "imported"])
        try run("run", ["run", "--ids", "1,40,41,42", "--model", model, "--sae", "sae16", "--top", "3"])
        try run("steer", ["steer", "--ids", "1,40,41", "--model", model, "--sae", "sae16", "--latent", "0", "--strength", "2",
                          "--max-tokens", "2", "--freeze-attention"])
        try run("align", ["align", "sae", "sae16"])
        try run("export.neuronpedia", ["export", "neuronpedia", "cache", "--out", "np", "--no-logits"])
        try run("import.neuronpedia", ["import", "neuronpedia", "np", "--out", "np-cache"])

        done.wait()
        for (i, job) in independent.enumerated() {
            switch results.get(i) {
            case let .success(r)?:
                XCTAssertEqual(r.status, 0, "featurescope \(job.args.joined(separator: " ")): \(r.stderr)")
                check(job.name, r.stdout)
                covered.insert(job.name.hasPrefix("model") || job.name.hasPrefix("sae.") ? job.name : String(job.name.split(separator: ".")[0]))
            case let .failure(e)?: XCTFail("\(job.name): \(e)")
            case nil: XCTFail("\(job.name) did not run")
            }
        }

        // Every command whose help offers --json is covered.
        let helps = try FileManager.default.contentsOfDirectory(atPath: HelpTextTests.goldenDirectory)
        var offering: Set<String> = []
        for name in helps where name.hasSuffix(".txt") {
            let text = try String(contentsOfFile: HelpTextTests.goldenDirectory + "/" + name, encoding: .utf8)
            if text.contains("\n  --json ") || text.contains(" [--json]") {
                offering.insert(String(name.dropFirst("featurescope.".count).dropLast(4)))
            }
        }
        XCTAssertGreaterThan(offering.count, 15)
        XCTAssertEqual(offering.subtracting(covered), [], "commands with --json but no shape test")
    }
}

/// Results of the commands run beside the chain, filled from another thread.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<(status: Int32, stdout: String, stderr: String), Error>?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(status: Int32, stdout: String, stderr: String), Error>) { lock.withLock { items[i] = r } }
    func get(_ i: Int) -> Result<(status: Int32, stdout: String, stderr: String), Error>? { lock.withLock { items[i] } }
}
