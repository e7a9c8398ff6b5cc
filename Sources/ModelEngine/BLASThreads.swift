import CBLAS
import Foundation

/// OpenBLAS's thread count, process-wide. Passes that split their own work over Featurescope's threads (the int8
/// prompt pass and the single-token steps: `SpinWorker` halves of every product and of attention) run OpenBLAS
/// single-threaded: its worker thread spins between calls, and on a 2-core machine a third spinning thread took
/// a core from the two that do the work (Qwen 1.5B int8 prompts: 172 → 326 tokens/s, docs/performance.md).
/// Exact Float passes keep the configured count (their large GEMMs are BLAS's own to split).
final class BLASThreads: @unchecked Sendable {
    static let shared = BLASThreads()

    private let lock = NSLock()
    /// The count set with `configure` (restored when the last single-threaded scope ends).
    private var configured = Int(openblas_get_num_threads())
    /// Open `singleThreaded` scopes, from any thread.
    private var singleScopes = 0

    /// Sets OpenBLAS's thread count (now, or when the open single-threaded scopes end).
    func configure(_ n: Int) {
        lock.lock()
        defer { lock.unlock() }
        configured = max(1, min(n, 64))
        if singleScopes == 0 { openblas_set_num_threads(Int32(configured)) }
    }

    /// Runs `body` with OpenBLAS on one thread. Another thread's BLAS call meanwhile also runs on one thread: slower,
    /// never different.
    func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        singleScopes += 1
        if singleScopes == 1 { openblas_set_num_threads(1) }
        lock.unlock()
        defer {
            lock.lock()
            singleScopes -= 1
            if singleScopes == 0 { openblas_set_num_threads(Int32(configured)) }
            lock.unlock()
        }
        return try body()
    }
}
