import TensorFormats

/// Errors raised while loading or running a sparse autoencoder.
///
/// Each message names the file or tensor, says what was found and what was expected.
public enum SAEError: Error, CustomStringConvertible, Equatable {
    /// The folder does not exist or is not a folder.
    case folderNotFound(path: String)
    /// The folder holds neither a SAELens nor a sparsify SAE.
    case unrecognizedFolder(path: String, reason: String)
    /// `cfg.json` is missing, not JSON, or a field has the wrong JSON type.
    case configUnreadable(path: String, reason: String)
    /// A required `cfg.json` field is absent.
    case missingConfigField(path: String, field: String)
    /// A `cfg.json` field has a value Featurescope cannot use.
    case invalidConfigValue(path: String, field: String, value: String, expected: String)
    /// The architecture is not one of standard, topk, jumprelu, gated.
    case unknownArchitecture(path: String, name: String)
    /// A valid but unsupported feature (a transcoder, groupmax, a skip connection…).
    case unsupported(path: String, feature: String, reason: String)
    /// `normalize_activations = expected_average_only_in` needs the dataset's scaling factor.
    case needsScalingFactor(path: String)
    /// A weight tensor is absent from the safetensors file.
    case missingTensor(path: String, tensor: String)
    /// A weight tensor's shape disagrees with the config.
    case tensorShape(path: String, tensor: String, found: [Int], expected: [Int])
    /// A weight tensor is not a floating-point tensor.
    case tensorDType(path: String, tensor: String, found: String)
    /// A weight tensor holds NaN or ±Inf (the first one's flat index and value).
    case nonFiniteWeight(path: String, tensor: String, index: Int, value: Float)
    /// The weights file itself is corrupt (wraps the reader's error).
    case format(FormatError)
    /// An input array has the wrong number of elements.
    case inputShape(what: String, expected: Int, found: Int)
    /// An argument is out of range (latent index, head count…).
    case invalidArgument(String)
    /// `--sae RELEASE/SAE_ID` (or a path) could not be resolved to files on disk.
    case notResolved(spec: String, reason: String)

    public var description: String {
        switch self {
        case let .folderNotFound(p): return "\(p): no such SAE folder"
        case let .unrecognizedFolder(p, r): return "\(p): not an SAE folder: \(r)"
        case let .configUnreadable(p, r): return "\(p): cannot read config: \(r)"
        case let .missingConfigField(p, f): return "\(p): config field '\(f)' is missing"
        case let .invalidConfigValue(p, f, v, e): return "\(p): config field '\(f)' is \(v), expected \(e)"
        case let .unknownArchitecture(p, n):
            return "\(p): unknown SAE architecture '\(n)' (supported: standard, topk, jumprelu, gated)"
        case let .unsupported(p, f, r): return "\(p): \(f) is not supported: \(r)"
        case let .needsScalingFactor(p):
            return "\(p): normalize_activations is expected_average_only_in, which needs the dataset's activation scaling factor; pass it when loading (e.g. --sae-scale), or fold it into the weights"
        case let .missingTensor(p, t): return "\(p): weight tensor '\(t)' is missing"
        case let .tensorShape(p, t, f, e): return "\(p): tensor '\(t)' has shape \(f), expected \(e) from the config"
        case let .tensorDType(p, t, f): return "\(p): tensor '\(t)' has dtype \(f), expected F32, F16, BF16 or F64"
        case let .nonFiniteWeight(p, t, i, v):
            return "\(p): tensor '\(t)' holds \(v) at element \(i); SAE weights must all be finite"
        case let .format(e): return e.description
        case let .inputShape(w, e, f): return "\(w): expected \(e) values, got \(f)"
        case let .invalidArgument(m): return m
        case let .notResolved(s, r): return "--sae \(s): \(r)"
        }
    }
}

extension SAEError {
    /// Runs `body`, turning a file-format error into `.format`.
    static func wrapping<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as FormatError { throw SAEError.format(e) }
    }
}
