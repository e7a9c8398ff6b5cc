import Foundation

/// Errors raised by activation collection, SAE training and evaluation.
///
/// Each message says what is wrong, where (file, hook, key) and what was expected.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A manifest, shard or checkpoint file is missing, unreadable or inconsistent.
    case invalidStore(path: String, reason: String)
    /// A hook name is not present in an activation store.
    case unknownHook(path: String, hook: String, available: [String])
    /// A configuration value is out of range.
    case invalidConfig(String)
    /// Resuming is impossible because the stored state does not match the request.
    case resumeMismatch(path: String, reason: String)
    /// Training diverged (a loss or parameter became NaN or infinite).
    case diverged(step: Int, what: String)

    public var description: String {
        switch self {
        case let .invalidStore(p, r): return "\(p): \(r)"
        case let .unknownHook(p, h, a):
            return "\(p): no activations for hook '\(h)' (stored hooks: \(a.joined(separator: ", ")))"
        case let .invalidConfig(m): return "invalid training configuration: \(m)"
        case let .resumeMismatch(p, r): return "\(p): cannot resume: \(r) (use a new output folder, or delete the old one)"
        case let .diverged(s, w): return "training diverged at step \(s): \(w) is not finite (try a lower --lr)"
        }
    }
}
