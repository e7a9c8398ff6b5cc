import FeaturescopeCore
import CBLAS
import Dispatch

/// Small measurements for `featurescope bench` that need BLAS (which only the engine imports).
public enum EngineBenchmarks {
    /// Tokens per second of a TopK SAE encoder with random weights: pre = x·W_enc + b_enc (one sgemm over
    /// `tokens` activations), then keep the `k` largest per row and apply ReLU. Returns `tokens / median(seconds)`.
    public static func topKEncodeTokensPerSecond(dIn: Int = 576, dSae: Int = 4608, k: Int = 32, tokens n: Int = 512,
                                                 runs: Int, seed: UInt64, median: ([Double]) -> Double) -> Double {
        var rng = SplitMix64(seed: seed)
        func random(_ count: Int, _ scale: Float) -> [Float] {
            (0 ..< count).map { _ in (Float(rng.nextUnitDouble()) * 2 - 1) * scale }
        }
        let wEnc = random(dIn * dSae, 0.05), bEnc = random(dSae, 0.01), x = random(n * dIn, 1)
        let pre = FloatBuffer(count: n * dSae)
        var kept = [Int32](repeating: 0, count: n * k)
        var heap = [(Float, Int32)](repeating: (0, 0), count: k)
        func encode() {
            let out = pre.pointer
            for r in 0 ..< n { bEnc.withPointer { (out + r * dSae).update(from: $0, count: dSae) } }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(dSae), Int32(dIn),
                        1, x, Int32(dIn), wEnc, Int32(dSae), 1, out, Int32(dSae))
            for r in 0 ..< n {
                let row = out + r * dSae
                // The k largest, tracked with the index of the smallest kept value.
                for j in 0 ..< k { heap[j] = (row[j], Int32(j)) }
                var minIdx = 0
                for j in 1 ..< k where heap[j].0 < heap[minIdx].0 { minIdx = j }
                for j in k ..< dSae where row[j] > heap[minIdx].0 {
                    heap[minIdx] = (row[j], Int32(j))
                    minIdx = 0
                    for m in 1 ..< k where heap[m].0 < heap[minIdx].0 { minIdx = m }
                }
                for j in 0 ..< k { kept[r * k + j] = heap[j].0 > 0 ? heap[j].1 : -1 }
            }
        }
        encode()
        var times: [Double] = []
        for _ in 0 ..< max(1, runs) {
            let start = DispatchTime.now().uptimeNanoseconds
            encode()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(n) / median(times)
    }
}
