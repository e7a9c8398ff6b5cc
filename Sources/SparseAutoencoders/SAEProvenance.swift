import Foundation

/// What a cache or report records about the SAE that produced it (Codable for JSON output).
public struct SAEProvenance: Codable, Sendable, Equatable {
    public var config: SAEConfig
    public var weightsPath: String?
    /// Lowercase hex SHA-256 of the weights file (`sha256sum`-compatible).
    public var weightsSHA256: String?
    public var weightsDType: String
    public var foldedActivationScale: Float?

    enum CodingKeys: String, CodingKey {
        case config, weightsPath = "weights_path", weightsSHA256 = "weights_sha256", weightsDType = "weights_dtype"
        case foldedActivationScale = "folded_activation_scale"
    }
}

extension SparseAutoencoder {
    /// The SAE's config and weight-file fingerprint.
    public var provenance: SAEProvenance {
        SAEProvenance(config: config, weightsPath: weightsPath, weightsSHA256: weightsSHA256, weightsDType: weightsDType,
                      foldedActivationScale: foldedActivationScale)
    }

    /// SAE folders at or below `path` (depth ≤ 2): a SAELens or sparsify folder itself, or the
    /// hookpoint subfolders of a sparsify run / SAELens release. Sorted by path.
    public static func folders(in path: String) -> [String] {
        let fm = FileManager.default
        func isSAE(_ p: String) -> Bool {
            fm.fileExists(atPath: p + "/" + saeLensWeightsFile) || fm.fileExists(atPath: p + "/" + sparsifyWeightsFile)
        }
        if isSAE(path) { return [path] }
        var found: [String] = []
        for a in ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted() where !a.hasPrefix(".") {
            let p = path + "/" + a
            if isSAE(p) { found.append(p); continue }
            for b in ((try? fm.contentsOfDirectory(atPath: p)) ?? []).sorted() where !b.hasPrefix(".") && isSAE(p + "/" + b) {
                found.append(p + "/" + b)
            }
        }
        return found
    }
}
