import Foundation

extension ModelLocator {
    /// The Hugging Face hub cache folder: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    public static func huggingFaceCache(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let c = environment["HF_HUB_CACHE"], !c.isEmpty { return c }
        if let h = environment["HF_HOME"], !h.isEmpty { return h + "/hub" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/huggingface/hub"
    }

    /// Whether `name` has the form of a Hugging Face repo id (`ORG/NAME`, no other slashes, not a relative path).
    public static func isRepoID(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        return parts.allSatisfy { p in
            !p.isEmpty && p != "." && p != ".." && !p.hasPrefix(".") && p.unicodeScalars.allSatisfy { allowed.contains($0) }
        } && !name.hasSuffix(".gguf")
    }

    /// The snapshot folder of repo `ORG/NAME` in the hub cache (`models--ORG--NAME/refs/main` → `snapshots/<sha>`;
    /// without refs/main, the only snapshot), or nil when it is not there. Reads nothing from the network.
    public static func huggingFaceSnapshot(repo: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard isRepoID(repo) else { return nil }
        let folder = huggingFaceCache(environment: environment) + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
        let fm = FileManager.default
        var sha: String?
        if let data = fm.contents(atPath: folder + "/refs/main"), let s = String(data: data, encoding: .utf8) {
            sha = s.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let snapshots = try? fm.contentsOfDirectory(atPath: folder + "/snapshots"), snapshots.count == 1 {
            sha = snapshots[0]
        }
        guard let sha, !sha.isEmpty, !sha.contains("/") else { return nil }
        let snapshot = folder + "/snapshots/" + sha
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: snapshot, isDirectory: &isFolder), isFolder.boolValue else { return nil }
        return snapshot
    }

    /// The error for a repo id that is not in the hub cache.
    static func notInCache(repo: String, environment: [String: String]) -> EngineError {
        .modelNotFound(path: huggingFaceCache(environment: environment) + "/models--" + repo.replacingOccurrences(of: "/", with: "--"),
                       hint: "\(repo) is not in the Hugging Face cache; `huggingface-cli download \(repo)` puts it there "
                           + "(or point --model at a GGUF file or a model folder).")
    }
}
