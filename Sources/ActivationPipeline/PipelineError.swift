import FeaturescopeCore
import ModelEngine

/// Why the activation pipeline stopped; every case names the hook, file or row involved.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    /// An SAE's config names a hook the engine does not have.
    case unknownHook(source: String, hook: String)
    /// The hook's activations are not as wide as the SAE's input.
    case width(hook: HookPoint, expected: Int, found: Int)
    /// A source did not provide a hook the pipeline needs.
    case missingHook(HookPoint, source: String)
    /// A source returned a different number of rows than asked for.
    case rowCount(expected: Int, found: Int, source: String)
    /// An activation store does not fit the token file or the SAEs.
    case store(directory: String, reason: String)
    /// The prompt or token rows cannot be run.
    case input(String)

    public var description: String {
        switch self {
        case let .unknownHook(source, hook):
            return "\(SafeText.sanitize(source)): hook '\(SafeText.sanitize(hook))' is not a hook point of the engine"
        case let .width(hook, expected, found):
            return "the SAE reads \(expected) values per token; \(hook) gives \(found)"
        case let .missingHook(hook, source):
            return "\(source) did not provide \(hook)"
        case let .rowCount(expected, found, source):
            return "\(source) returned \(found) rows for \(expected)"
        case let .store(directory, reason):
            return "\(SafeText.sanitize(directory)): \(reason)"
        case let .input(reason):
            return reason
        }
    }
}
