import FeaturescopeCore
import Foundation

/// A copy of the first positions of a session's KV cache, with their tokens: a computed prompt prefix
/// (system prompt, few-shot demonstrations) that later prompts starting with the same tokens fork from
/// instead of recomputing it.
public struct KVPrefixSnapshot: @unchecked Sendable {
    // @unchecked: the buffers are written once, when the snapshot is taken, and only read afterwards.
    public let tokens: [Int32]
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    public var length: Int { tokens.count }
}

extension Generator {
    /// Copies the positions the session holds now.
    public func snapshot() -> KVPrefixSnapshot {
        let n = tokens.count
        let dim = cache.keys.first.map { $0.count / max(1, cache.maxLength) } ?? 0
        func copy(_ b: FloatBuffer) -> FloatBuffer {
            let c = FloatBuffer(count: max(1, n * dim))
            c.pointer.update(from: b.pointer, count: n * dim)
            return c
        }
        return KVPrefixSnapshot(tokens: tokens, keys: cache.keys.map(copy), values: cache.values.map(copy))
    }

    /// Replaces the session with `snapshot` (its tokens and their keys and values); the next `append`
    /// continues after them. A snapshot from a session of another model or longer than this cache is refused.
    public func restore(_ snapshot: KVPrefixSnapshot) {
        let n = snapshot.length
        let dim = cache.keys.first.map { $0.count / max(1, cache.maxLength) } ?? 0
        guard n <= cache.maxLength, snapshot.keys.count == cache.keys.count,
              snapshot.keys.allSatisfy({ $0.count >= n * dim }) else {
            reset()
            return
        }
        for (dst, src) in zip(cache.keys, snapshot.keys) { dst.pointer.update(from: src.pointer, count: n * dim) }
        for (dst, src) in zip(cache.values, snapshot.values) { dst.pointer.update(from: src.pointer, count: n * dim) }
        cache.length = n
        replaceTokens(snapshot.tokens)
    }
}
