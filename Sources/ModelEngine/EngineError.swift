import Foundation

/// Errors of the model engine. Each message says what went wrong, where, and what was expected.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    /// The model file is not where we looked.
    case modelNotFound(path: String, hint: String)
    /// A metadata key or tensor has a value the Llama engine cannot use.
    case invalidModel(path: String, reason: String)
    /// A token id outside `0 ..< vocabSize`.
    case tokenOutOfRange(token: Int32, position: Int, vocabSize: Int)
    /// An empty token list was passed where at least one token is needed.
    case emptyInput(what: String)
    /// A sequence longer than the context or the session's KV cache.
    case sequenceTooLong(length: Int, limit: Int, what: String)
    /// A hook name that does not parse, or a layer that does not exist.
    case invalidHook(name: String, reason: String)
    /// An intervention that changed the shape of an activation, or is attached to a hook that cannot be modified.
    case invalidIntervention(hook: String, reason: String)
    /// A pass that does not continue the KV cache where it ends.
    case cacheMismatch(reason: String)
    /// A download or verification step of `model fetch` failed.
    case fetchFailed(step: String, reason: String)
    /// The forward pass produced NaN or infinity (corrupt weights or an intervention that wrote them).
    case nonFiniteResult(what: String, path: String)

    public var description: String {
        switch self {
        case let .modelNotFound(path, hint):
            return "model not found at \(path). \(hint)"
        case let .invalidModel(path, reason):
            return "\(path): not a usable model: \(reason)"
        case let .tokenOutOfRange(token, position, vocabSize):
            return "token id \(token) at position \(position) is outside the vocabulary (0..<\(vocabSize))"
        case let .emptyInput(what):
            return "\(what): need at least one token"
        case let .sequenceTooLong(length, limit, what):
            return "\(what): \(length) tokens exceed the limit of \(limit)"
        case let .invalidHook(name, reason):
            return "invalid hook '\(name)': \(reason). Expected e.g. blocks.5.hook_resid_post, blocks.5.attn.hook_z or layers.5"
        case let .invalidIntervention(hook, reason):
            return "intervention on \(hook): \(reason)"
        case let .cacheMismatch(reason):
            return "KV cache: \(reason)"
        case let .fetchFailed(step, reason):
            return "model fetch failed while \(step): \(reason)"
        case let .nonFiniteResult(what, path):
            return "\(path): the forward pass produced a non-finite \(what); the weights or an intervention hold NaN or infinity"
        }
    }
}
