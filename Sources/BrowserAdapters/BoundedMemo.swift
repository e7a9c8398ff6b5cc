import Foundation

/// A small thread-safe memo with a hard size limit: when full it starts over, so memory stays
/// bounded whatever the number of latents (list rows are revisited often, everything else rarely).
final class BoundedMemo<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var store: [Key: Value] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func value(_ key: Key) -> Value? { lock.withLock { store[key] } }

    func set(_ key: Key, _ value: Value) {
        lock.withLock {
            if store.count >= capacity { store.removeAll(keepingCapacity: true) }
            store[key] = value
        }
    }

    func remove(_ key: Key) { _ = lock.withLock { store.removeValue(forKey: key) } }

    var count: Int { lock.withLock { store.count } }
}

/// (part, latent) as one memo key.
struct LatentKey: Hashable, Sendable {
    var part: Int
    var latent: Int
}
