import Foundation

/// The one redaction of secrets (API keys) for everything Featurescope prints or stores.
///
/// A client registers a key when it reads it; every error message, log line, stored annotation
/// and delphi output file then passes through `redact`, which replaces each registered secret
/// (and its JSON-escaped form) with `<redacted>`. Secrets shorter than 8 characters are not
/// registered, since replacing them would mangle ordinary text.
public enum SecretRedaction {
    /// What a secret is replaced by.
    public static let placeholder = "<redacted>"

    private final class Registry: @unchecked Sendable {
        // @unchecked: `secrets` is only touched under `lock`.
        let lock = NSLock()
        var secrets: [String] = []
    }
    private static let registry = Registry()

    /// Adds a secret to redact from now on (idempotent).
    public static func register(_ secret: String) {
        guard secret.count >= 8 else { return }
        let escaped = secret.replacingOccurrences(of: "/", with: "\\/")
        registry.lock.withLock {
            for s in Set([secret, escaped]) where !registry.secrets.contains(s) { registry.secrets.append(s) }
            registry.secrets.sort { $0.count > $1.count }
        }
    }

    /// `text` with every registered secret replaced by `placeholder`.
    public static func redact(_ text: String) -> String {
        let secrets = registry.lock.withLock { registry.secrets }
        var out = text
        for s in secrets where out.contains(s) { out = out.replacingOccurrences(of: s, with: placeholder) }
        return out
    }

    /// UTF-8 `data` with every registered secret replaced (returned unchanged when none occurs).
    public static func redact(_ data: Data) -> Data {
        let secrets = registry.lock.withLock { registry.secrets }
        guard secrets.contains(where: { data.range(of: Data($0.utf8)) != nil }) else { return data }
        return Data(redact(String(decoding: data, as: UTF8.self)).utf8)
    }
}
