import FeaturescopeCore
import Foundation
import TerminalUI

/// Measures the browser's rendering on synthetic data: the first frame and update+render per key press.
/// Run by `featurescope browse --bench-render`; not a test, so timings never make the suite flaky.
public enum RenderBenchmark {
    public struct Result: Sendable, Codable {
        public var latents: Int
        public var width: Int
        public var height: Int
        /// Building the data source, the initial state and the first frame, in ms.
        public var firstFrameMs: Double
        /// update + render per key press, in ms.
        public var keyP50Ms: Double
        public var keyP95Ms: Double
        public var keyMaxMs: Double
        public var keyPresses: Int
        /// The same on this thread's CPU clock: the work itself, without time lost to other processes.
        public var keyCPUP95Ms: Double
        public var keyCPUMaxMs: Double
        /// Background work, for reference (not on the key path): sort by density, and a search, in ms.
        public var sortMs: Double
        public var searchMs: Double
        public var detailLoadMs: Double
        /// Building the top-token search index of part 0 (all latents), and the search "python" over
        /// explanations + the complete index, in ms (background work).
        public var tokenIndexMs: Double
        public var indexedSearchMs: Double
        /// The three slowest messages with their time, for finding hot spots.
        public var slowest: [String]
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    /// CPU time of the calling thread in milliseconds.
    static func threadCPUms() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
    }

    public static func run(latents: Int = 131_072, size: Size = Size(width: 120, height: 40)) -> Result {
        let clock = ContinuousClock()
        var state = AppState(size: size, parts: [], capabilities: Capabilities(promptEngine: true, actionRunner: true))
        var built: SyntheticBrowserData?
        let first = clock.measure {
            let d = SyntheticBrowserData(latentCount: latents)
            built = d
            state = AppState(size: size, parts: d.parts, capabilities: Capabilities(promptEngine: true, actionRunner: true))
            _ = Update.start(&state)
            _ = Render.frame(state, data: d)
        }
        let source = built ?? SyntheticBrowserData(latentCount: latents)
        let env = BrowserEnvironment(data: source)
        let data = source

        // Background work, performed synchronously here to time it.
        var rows: [Int32] = []
        let sort = clock.measure {
            rows = EffectPerformer.computeRows(RowQuery(part: 0, sort: SortSpec(column: .density, descending: true),
                                                        filter: ListFilter(), search: ""), data: data)
        }
        let search = clock.measure {
            _ = EffectPerformer.computeRows(RowQuery(part: 0, sort: SortSpec(), filter: ListFilter(), search: "python"), data: data)
        }
        let index = TopTokenIndex()
        let indexTime = clock.measure { index.build(part: 0, data: data, isCancelled: { false }) { _ in } }
        let indexedSearch = clock.measure {
            _ = EffectPerformer.computeRows(RowQuery(part: 0, sort: SortSpec(), filter: ListFilter(), search: "python"), data: data, index: index)
        }
        var detail: LatentDetail?
        let detailTime = clock.measure { detail = try? data.detail(part: 0, latent: 7) }

        // A scripted session: scrolling, paging, sorting, opening details, moving in contexts.
        var keys: [Msg] = []
        keys += Array(repeating: .key(.down), count: 200)
        keys += Array(repeating: .key(.pageDown), count: 50)
        keys += [.key(.char(">")), .rowsComputed(generation: 1, rows: rows)]
        keys += Array(repeating: .key(.char("j")), count: 100)
        keys += [.key(.enter)]
        if let detail { keys.append(.detailLoaded(LatentRef(part: 0, latent: Int(rows[min(rows.count - 1, 100)])), .success(detail))) }
        keys += Array(repeating: .key(.down), count: 40)
        keys += Array(repeating: .key(.right), count: 20)
        keys += [.key(.char("x")), .key(.char("w"))]
        keys += Array(repeating: .key(.up), count: 20)
        keys += [.key(.char("1")), .key(.end), .key(.home)]
        keys += Array(repeating: .key(.pageDown), count: 30)
        var times: [Double] = []
        var cpuTimes: [Double] = []
        var labelled: [(String, Double)] = []
        for k in keys {
            var msg = k
            // Keep the injected detail matching whatever latent was opened.
            if case let .detailLoaded(_, r) = k, let ref = state.detail.ref { msg = .detailLoaded(ref, r) }
            let cpu0 = threadCPUms()
            let t = clock.measure {
                _ = Update.update(&state, msg)
                _ = Render.frame(state, data: env.data)
            }
            cpuTimes.append(threadCPUms() - cpu0)
            times.append(ms(t))
            labelled.append(("\(state.view.title):\(String(describing: msg).prefix(40))", ms(t)))
        }
        let slowest = labelled.sorted { $0.1 > $1.1 }.prefix(3).map { String(format: "%@ %.2f ms", $0.0, $0.1) }
        let cpuSorted = cpuTimes.sorted()
        let sorted = times.sorted()
        func pct(_ p: Double) -> Double { Percentile.lowerRank(sorted, p) ?? 0 }
        return Result(latents: latents, width: size.width, height: size.height, firstFrameMs: ms(first),
                      keyP50Ms: pct(0.5), keyP95Ms: pct(0.95), keyMaxMs: sorted.last ?? 0, keyPresses: times.count,
                      keyCPUP95Ms: Percentile.lowerRank(cpuSorted, 0.95) ?? 0,
                      keyCPUMaxMs: cpuSorted.last ?? 0,
                      sortMs: ms(sort), searchMs: ms(search), detailLoadMs: ms(detailTime),
                      tokenIndexMs: ms(indexTime), indexedSearchMs: ms(indexedSearch), slowest: slowest)
    }
}
