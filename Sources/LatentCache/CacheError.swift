import Foundation

/// Errors raised while reading, writing, importing or exporting a latent cache.
///
/// Every message names the file, what was wrong there and what was expected.
public enum CacheError: Error, CustomStringConvertible, Equatable {
    /// The cache folder or one of its files does not exist or cannot be opened.
    case cannotOpen(path: String, reason: String)
    /// A file is shorter than its header or its declared contents.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int, what: String)
    /// A file does not start with the expected magic bytes.
    case badMagic(path: String, found: String, expected: String)
    /// The file was written by another format version.
    case unsupportedVersion(path: String, found: Int, supported: Int)
    /// A stored checksum does not match the bytes it covers.
    case checksumMismatch(path: String, what: String, stored: UInt32, computed: UInt32)
    /// An offset or length points outside its file.
    case offsetOutOfRange(path: String, what: String, offset: Int, length: Int, fileSize: Int)
    /// The bytes are readable but violate the format (counts, sizes, ordering).
    case corrupt(path: String, reason: String)
    /// `manifest.json` cannot be decoded or disagrees with the files.
    case invalidManifest(path: String, reason: String)
    /// A latent number outside `0 ..< latentCount`.
    case latentOutOfRange(latent: Int, latentCount: Int)
    /// A part name that the cache does not have.
    case unknownPart(name: String, available: [String])
    /// Invalid arguments to the writer or the builder.
    case invalidArgument(String)
    /// A write, rename or sync failed.
    case writeFailed(path: String, reason: String)
    /// A resumable build that does not match the requested one.
    case resumeMismatch(path: String, reason: String)
    /// The destination exists already.
    case destinationExists(path: String)
    /// A delphi run folder that cannot be imported.
    case invalidDelphiRun(path: String, reason: String)
    /// A Neuronpedia file (feature JSON, explanation dump, SAEDashboard batch) that cannot be imported.
    case invalidNeuronpedia(path: String, reason: String)
    /// The SAE a part names is in none of the places tried (`SAELocation`).
    case saeNotFound(part: String, recorded: String, tried: [String])

    public var description: String {
        switch self {
        case let .cannotOpen(p, r): return "\(p): cannot open: \(r)"
        case let .truncated(p, e, a, w):
            return "\(p): file truncated: \(w) needs \(e) bytes but the file has \(a) (an interrupted copy? rebuild or re-copy the cache)"
        case let .badMagic(p, f, e): return "\(p): not a Featurescope latent cache file (magic \(f), expected \(e))"
        case let .unsupportedVersion(p, f, s):
            return "\(p): cache format version \(f) is not supported by this build (supported: \(s)); rebuild the cache or update featurescope"
        case let .checksumMismatch(p, w, s, c):
            return "\(p): checksum mismatch in \(w) (stored \(String(format: "%08x", s)), computed \(String(format: "%08x", c))): the file is corrupt"
        case let .offsetOutOfRange(p, w, o, l, s):
            return "\(p): \(w) at offset \(o) length \(l) lies outside the \(s)-byte file: the file is corrupt or truncated"
        case let .corrupt(p, r): return "\(p): corrupt: \(r)"
        case let .invalidManifest(p, r): return "\(p): invalid manifest: \(r)"
        case let .latentOutOfRange(l, n): return "latent \(l) is out of range (the part has \(n) latents: 0…\(max(0, n - 1)))"
        case let .unknownPart(n, a): return "no part named '\(n)' in the cache (parts: \(a.joined(separator: ", ")))"
        case let .invalidArgument(m): return m
        case let .writeFailed(p, r): return "\(p): cannot write: \(r)"
        case let .resumeMismatch(p, r): return "\(p): cannot resume this build: \(r) (delete the folder to start over)"
        case let .destinationExists(p): return "\(p) exists already (pass --force to replace it)"
        case let .invalidDelphiRun(p, r): return "\(p): not an importable delphi run: \(r)"
        case let .invalidNeuronpedia(p, r): return "\(p): not importable Neuronpedia data: \(r)"
        case let .saeNotFound(part, recorded, tried):
            return "the SAE of part \(part) ('\(recorded)' in the manifest) is not found; tried: \(tried.joined(separator: ", ")). "
                + "Give the SAE's folder (score, steer: --sae DIR) or the folder its path is relative to (browse: --sae-root DIR)"
        }
    }
}
