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

/// A token bucket: `take()` succeeds at most `perSecond` times a second on average (bursts up to
/// that many), so bulk scans fall back to cheaper work while interactive calls stay exact.
final class RateBudget: @unchecked Sendable {
    private let lock = NSLock()
    private let rate: Double
    private var tokens: Double
    private var last = ContinuousClock.now

    init(perSecond: Int) {
        rate = Double(max(1, perSecond))
        tokens = rate
    }

    func take() -> Bool {
        lock.withLock {
            let now = ContinuousClock.now
            let elapsed = now - last
            last = now
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            tokens = min(rate, tokens + seconds * rate)
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
    }
}
