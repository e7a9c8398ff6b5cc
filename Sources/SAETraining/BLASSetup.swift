import Foundation
import CBLAS

/// Facts about the BLAS library in use, for speed reports.
///
/// OpenBLAS picks its kernel set when it loads, from the CPU or from the environment
/// variable `OPENBLAS_CORETYPE`. On the development machines that variable is set to
/// `Haswell` (AVX2); on their AVX-512 CPUs `OPENBLAS_CORETYPE=SkylakeX` runs the SAE encoder's
/// sgemm about twice as fast. Featurescope does not override an explicit setting.
public enum BLASSetup {
    /// The OpenBLAS kernel set in use (e.g. "SkylakeX", "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// A hint to print when a faster kernel set is available but not in use, else nil.
    public static var speedHint: String? {
        #if os(Linux)
        guard coreName.lowercased() == "haswell",
              let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let set = Set(flags.split(separator: " ").map(String.init))
        guard ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(set.contains) else { return nil }
        return "note: OpenBLAS uses its Haswell (AVX2) kernels on this AVX-512 CPU; OPENBLAS_CORETYPE=SkylakeX makes training about 1.5–2× faster"
        #else
        return nil
        #endif
    }
}
