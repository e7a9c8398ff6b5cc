import Foundation
import XCTest

/// Runs the built featurescope binary in a folder with a fixed environment (one OpenBLAS thread with a pinned
/// kernel set, a neutral home and locale), for the CLI tests that check what commands write.
struct CLIRunner {
    let binary: String
    let cwd: String
    var environment: [String: String] = [
        "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
        "LC_ALL": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell", "COLUMNS": "100",
    ]

    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// Standard output of `featurescope args…`; a non-zero exit fails the test (with standard error).
    @discardableResult
    func callAsFunction(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try output(args)
        XCTAssertEqual(r.status, 0, "featurescope \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }

    /// Exit status, standard output and standard error of `featurescope args…` (asserts nothing: safe off the
    /// test's thread).
    func output(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = environment
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let errBox = DataBox()
        let reader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !errBox.done { usleep(1000) }
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errBox.data, as: UTF8.self))
    }

    /// A copy of the tiny Llama checkpoint with a tokenizer_config.json naming EOS (the corpus needs one), in `dir`.
    static func tinyModel(in dir: String) throws -> String {
        let model = dir + "/llama3"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("tiny-models/llama3/" + f).path, toPath: model + "/" + f)
        }
        try Data(#"{"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}"#.utf8)
            .write(to: URL(fileURLWithPath: model + "/tokenizer_config.json"))
        return model
    }
}

final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Data()
    private var finished = false
    var data: Data {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue; finished = true } }
    }
    var done: Bool { lock.withLock { finished } }
}
