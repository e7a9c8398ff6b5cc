import ModelEngine
import SparseAutoencoders

/// An SAE bound to the hook whose activations it encodes: the pipeline's unit of encoding.
///
/// The SAE is a value (loaded once, shared by every pass). `hook` is where its input is read; an SAE that also
/// writes somewhere else (a transcoder reading one hook and predicting another) is encoded the same way.
public struct HookEncoder: Sendable {
    public let hook: HookPoint
    public let sae: SparseAutoencoder
    /// Keep at most this many latents per token (nil: the SAE's own limit, k for top-k).
    public var keepTop: Int?

    public init(hook: HookPoint, sae: SparseAutoencoder, keepTop: Int? = nil) {
        self.hook = hook
        self.sae = sae
        self.keepTop = keepTop
    }

    /// `sae` on the hook its config names; `source` (its folder) names it in the error when the engine has no
    /// such hook.
    public init(sae: SparseAutoencoder, source: String, keepTop: Int? = nil) throws {
        guard let hook = sae.hookPoint ?? (try? HookPoint(HookNames.canonical(sae.config.metadata.hookName))) else {
            throw PipelineError.unknownHook(source: source, hook: sae.config.metadata.hookName)
        }
        self.init(hook: hook, sae: sae, keepTop: keepTop)
    }

    /// The SAE `spec` names (a folder or file of any format read, `RELEASE/SAE_ID`, a hub-cache repo: `SAEResolver`)
    /// on the hook its config names.
    public static func load(folder spec: String, keepTop: Int? = nil) throws -> HookEncoder {
        try HookEncoder(sae: try SAEResolver.load(spec), source: spec, keepTop: keepTop)
    }

    /// Sparse codes of `count` positions of a hook's activation ([count, width] row-major): the whole row when the
    /// width is the SAE's d_in, else the slice of the head the SAE names (`hook_head_index`, a per-head SAE).
    public func encode(activation data: [Float], count: Int) throws -> SparseCodes {
        let d = sae.dIn
        let width = count > 0 ? data.count / count : d
        guard count > 0, width != d else { return try encode(data, count: count) }
        guard let head = sae.config.metadata.hookHeadIndex, head >= 0, width * count == data.count, width % d == 0,
              head < width / d else {
            throw PipelineError.width(hook: hook, expected: d, found: width)
        }
        var x = [Float]()
        x.reserveCapacity(count * d)
        for t in 0 ..< count { x.append(contentsOf: data[t * width + head * d ..< t * width + (head + 1) * d]) }
        return try encode(x, count: count)
    }

    /// Sparse codes of `count` positions of `x` ([count, d_in] row-major).
    public func encode(_ x: UnsafeBufferPointer<Float>, count: Int) throws -> SparseCodes {
        guard x.count == count * sae.dIn else {
            throw PipelineError.width(hook: hook, expected: sae.dIn, found: count > 0 ? x.count / count : x.count)
        }
        return try sae.encode(x, count: count, keepTop: keepTop)
    }

    /// Sparse codes of `count` positions of `x` ([count, d_in] row-major).
    public func encode(_ x: [Float], count: Int) throws -> SparseCodes {
        try x.withUnsafeBufferPointer { try encode($0, count: count) }
    }
}
