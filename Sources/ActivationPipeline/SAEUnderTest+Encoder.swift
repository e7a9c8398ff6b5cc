import SAETraining
import SparseAutoencoders

extension SAEUnderTest {
    /// The evaluator's view of a pipeline encoder: encode, then decode (per-token normalisation undone), and the
    /// latents that fired.
    public init(encoder e: HookEncoder, name: String) {
        let sae = e.sae, keepTop = e.keepTop
        self.init(name: name, hook: e.hook, dIn: sae.dIn, dSAE: sae.dSAE) { x, rows in
            let codes = try sae.encode(x, count: rows, keepTop: keepTop)
            let recon = try sae.decode(codes)
            var active: [Int32] = []
            active.reserveCapacity(codes.entryCount)
            for (i, v) in zip(codes.indices, codes.values) where v != 0 { active.append(i) }
            return (recon, active)
        }
    }
}
