import Foundation
#if canImport(Synchronization)
import Synchronization
#endif

/// A helper thread for the single-token step: the caller hands it half of a mat-vec, does the other half,
/// and waits by spinning. A step issues ~120 such products of 50–200 µs each, so waking a parked GCD worker
/// every time (tens of µs) costs more than it saves; this worker spins between jobs for a short while
/// (`spinLimit`) and only then parks on a semaphore.
@available(macOS 15.0, *)
final class SpinWorker: @unchecked Sendable {
    /// The shared worker used by `WeightMatrix.multiply` with two threads.
    static let shared = SpinWorker()

    /// Spins (with `sched_yield` every 64) before parking: ~0.2 ms.
    private static let spinLimit = 4096

    private let posted = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// 1 while the worker is parked on `wake`.
    private let parked = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    /// Written by the caller before `posted` is incremented; read by the worker after it sees the increment.
    private var job: (() -> Void)?
    /// Serialises callers (jobs from two threads at once take turns).
    private let callerLock = NSLock()

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "featurescope.spin-worker"
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Runs `other` on the worker and `mine` on the calling thread; returns when both are done.
    func run(mine: () -> Void, other: @escaping () -> Void) {
        callerLock.lock()
        defer { callerLock.unlock() }
        job = other
        let ticket = posted.add(1, ordering: .sequentiallyConsistent).newValue
        if parked.load(ordering: .sequentiallyConsistent) == 1 { wake.signal() }
        mine()
        var spins = 0
        while finished.load(ordering: .acquiring) != ticket {
            spins += 1
            if spins & 63 == 0 { sched_yield() }
        }
        job = nil
    }

    private func loop() {
        var seen = 0
        while true {
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 63 == 0 { sched_yield() }
                if spins >= Self.spinLimit {
                    parked.store(1, ordering: .sequentiallyConsistent)
                    // Re-check after announcing: a caller that posted before seeing `parked` is caught here.
                    if posted.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                    parked.store(0, ordering: .sequentiallyConsistent)
                    spins = 0
                }
            }
            seen = posted.load(ordering: .acquiring)
            job?()
            finished.store(seen, ordering: .releasing)
        }
    }
}
