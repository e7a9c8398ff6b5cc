import FeaturescopeCore
import Foundation
import LatentCache

/// Measurements of `featurescope cache-bench` (docs/performance.md, "Latent cache").
public struct CacheBenchmarkResult: Codable, Sendable {
    public var cachePath: String
    public var latents: Int
    public var tokens: Int
    public var cacheBytes: Int
    /// Seconds spent generating the synthetic cache (nil when it existed).
    public var generateSeconds: Double?
    /// Whether the page cache could be emptied for the cold measurement.
    public var evictedPageCache: Bool
    public var coldOpenMs: Double
    public var coldFirstSummaryMs: Double
    public var coldFirstRecordMs: Double
    /// Open + one summary + one record, from files not in the page cache.
    public var coldTotalMs: Double
    public var warmRecordMedianUs: Double
    public var warmRecordP99Us: Double
    /// The same p99 in thread CPU time, which leaves out preemption by other processes.
    public var warmRecordP99CpuUs: Double
    public var warmSummaryMedianUs: Double
    /// Index statistics of every latent (what a sorted latent list needs), ms.
    public var allStatisticsMs: Double
    public var samples: Int
    /// Resident memory (kB, /proc/self/status VmRSS) before opening, after opening, after the first record,
    /// and after reading `samples` records.
    public var rssBeforeOpenKB: Int
    public var rssAfterOpenKB: Int
    public var rssAfterFirstRecordKB: Int
    public var rssAfterSamplesKB: Int
    /// Builder cost of streaming activations (µs per token, `activePerToken` latents each) and of
    /// finalizing (µs per nonzero activation), measured on a small synthetic build.
    public var builderStreamUsPerToken: Double
    public var builderFinalizeUsPerActivation: Double
    public var activePerToken: Int
    /// The bare forward pass of the model (µs per token), when measured.
    public var forwardUsPerToken: Double?
    /// Builder cost per token (stream + finalize of `activePerToken` activations) relative to the forward pass, %.
    public var builderOverheadPercent: Double?
    /// The same cold open measured on a smaller cache, to show cost and memory do not grow with latents.
    public var baselineLatents: Int?
    public var baselineColdOpenMs: Double?
    public var baselineOpenRSSGrowthKB: Int?
    /// Statistics of a real `featurescope cache --json` build, when given.
    public var realBuild: CacheBuildStats?
    public var realBuildDescription: String?

    /// Records the forward-pass time and the builder's overhead relative to it.
    public mutating func setForward(microsPerToken us: Double) {
        forwardUsPerToken = us
        builderOverheadPercent = 100 * (builderStreamUsPerToken + builderFinalizeUsPerActivation * Double(activePerToken)) / us
    }
}

public enum CacheBenchmark {
    /// Resident set size in kB from /proc/self/status (0 where unavailable).
    public static func residentKB() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// Asks the kernel to drop the cache's files from the page cache (no root needed for clean pages).
    /// Returns false when some file could not be advised.
    @discardableResult
    public static func evictFromPageCache(_ path: String) -> Bool {
        guard let e = FileManager.default.enumerator(atPath: path) else { return false }
        var ok = true
        while let f = e.nextObject() as? String {
            let p = path + "/" + f
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue else { continue }
            let fd = open(p, O_RDONLY)
            if fd < 0 { ok = false; continue }
            #if os(Linux)
            if posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED)) != 0 { ok = false }
            #else
            ok = false
            #endif
            close(fd)
        }
        return ok
    }

    /// CPU time of the calling thread, µs.
    static func threadCPUMicros() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
    }

    static func ms(_ t0: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6 }

    /// Cold open + one summary + one record of another cache: (ms, RSS growth kB). Run it first: it
    /// leaves pages mapped in this process only for its own files.
    public static func coldOpen(path: String) throws -> (ms: Double, rssGrowthKB: Int, latents: Int) {
        evictFromPageCache(path)
        let rss0 = residentKB()
        let t0 = DispatchTime.now()
        let cache = try LatentCacheDirectory.open(path)
        guard let part = cache.parts.first, part.latentCount > 0 else { throw CacheError.invalidArgument("\(path) has no latents") }
        _ = try part.summary(part.latentCount / 2)
        _ = try part.record(part.latentCount / 2)
        return (ms(t0), residentKB() - rss0, part.latentCount)
    }

    /// Measures an existing cache (first part).
    public static func measure(path: String, samples: Int, seed: UInt64 = 7, generateSeconds: Double? = nil) throws -> CacheBenchmarkResult {
        let evicted = evictFromPageCache(path)
        let rss0 = residentKB()
        let t0 = DispatchTime.now()
        let cache = try LatentCacheDirectory.open(path)
        let openMs = ms(t0)
        guard let part = cache.parts.first, part.latentCount > 0 else { throw CacheError.invalidArgument("\(path) has no latents") }
        let rss1 = residentKB()
        var rng = SplitMix64(seed: seed)
        let first = Int(rng.next() % UInt64(part.latentCount))
        let t1 = DispatchTime.now()
        _ = try part.summary(first)
        let summaryMs = ms(t1)
        let t2 = DispatchTime.now()
        _ = try part.record(first)
        let recordMs = ms(t2)
        let total = ms(t0)
        let rss2 = residentKB()

        let latents = (0 ..< samples).map { _ in Int(rng.next() % UInt64(part.latentCount)) }
        for l in latents { _ = try part.record(l) }          // bring the pages in: "warm"
        var recordTimes: [Double] = [], summaryTimes: [Double] = [], cpuTimes: [Double] = []
        for l in latents {
            let c = threadCPUMicros()
            let a = DispatchTime.now()
            _ = try part.record(l)
            recordTimes.append(ms(a) * 1000)
            cpuTimes.append(threadCPUMicros() - c)
            let b = DispatchTime.now()
            _ = try part.summary(l)
            summaryTimes.append(ms(b) * 1000)
        }
        let t4 = DispatchTime.now()
        var firing = 0
        for l in 0 ..< part.latentCount { firing &+= try part.statistics(l).firingCount }
        let allStats = ms(t4)
        let rss3 = residentKB()
        recordTimes.sort(); summaryTimes.sort(); cpuTimes.sort()
        func pct(_ v: [Double], _ p: Double) -> Double { v.isEmpty ? 0 : v[min(v.count - 1, Int(Double(v.count) * p))] }

        let (stream, finalize) = try builderCost(latentCount: part.latentCount)
        return CacheBenchmarkResult(cachePath: path, latents: part.latentCount, tokens: cache.tokens.tokenCount, cacheBytes: FolderSize.bytes(path),
                                    generateSeconds: generateSeconds, evictedPageCache: evicted, coldOpenMs: openMs, coldFirstSummaryMs: summaryMs,
                                    coldFirstRecordMs: recordMs, coldTotalMs: total, warmRecordMedianUs: pct(recordTimes, 0.5),
                                    warmRecordP99Us: pct(recordTimes, 0.99), warmRecordP99CpuUs: pct(cpuTimes, 0.99), warmSummaryMedianUs: pct(summaryTimes, 0.5), allStatisticsMs: allStats, samples: samples,
                                    rssBeforeOpenKB: rss0, rssAfterOpenKB: rss1, rssAfterFirstRecordKB: rss2, rssAfterSamplesKB: rss3,
                                    builderStreamUsPerToken: stream, builderFinalizeUsPerActivation: finalize, activePerToken: 32)
    }

    /// Streams 64 synthetic rows (256 tokens × 32 latents) through a builder and finalizes it.
    static func builderCost(latentCount: Int) throws -> (streamUsPerToken: Double, finalizeUsPerActivation: Double) {
        let tmp = NSTemporaryDirectory() + "featurescope-builder-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: tmp); try? FileManager.default.removeItem(atPath: tmp + ".partial") }
        let spec = SyntheticCacheSpec(latentCount: latentCount, rows: 64, rowLength: 256, activePerToken: 32, vocabularySize: 1000)
        let rows = (0 ..< spec.rows).map { SyntheticCache.row($0, spec: spec) }
        let b = try LatentCacheBuilder.start(output: tmp, parts: [PartSpec(name: "bench", latentCount: latentCount)],
                                             options: BuildOptions(rowLength: 256, keepAllActivations: true, checkpointEveryRows: 1 << 30),
                                             metadata: CacheMetadata(), vocabulary: (0 ..< 1000).map { _ in [65] }, vocabularySource: "bench", overwrite: true)
        let t0 = DispatchTime.now()
        for row in rows {
            try b.beginRow(tokens: row.tokens)
            row.latents.withUnsafeBufferPointer { lp in
                row.values.withUnsafeBufferPointer { vp in
                    for p in 0 ..< 256 {
                        b.addSparse(part: 0, position: p, latents: UnsafeBufferPointer(rebasing: lp[p * 32 ..< p * 32 + 32]),
                                    values: UnsafeBufferPointer(rebasing: vp[p * 32 ..< p * 32 + 32]))
                    }
                }
            }
            try b.endRow()
        }
        let streamMs = ms(t0)
        let t1 = DispatchTime.now()
        try b.finalize()
        let finMs = ms(t1)
        let tokens = Double(spec.rows * spec.rowLength)
        return (streamMs * 1000 / tokens, finMs * 1000 / (tokens * 32))
    }

    /// The "Latent cache" section of docs/performance.md.
    public static func markdown(_ r: CacheBenchmarkResult, machine: String) -> String {
        func f(_ v: Double, _ d: Int = 2) -> String { String(format: "%.\(d)f", v) }
        return """
        ## Latent cache

        `featurescope cache-bench` on \(machine): synthetic cache of \(r.latents) latents, \(r.tokens) tokens,
        \(r.cacheBytes / 1_048_576) MiB on disk\(r.generateSeconds.map { ", generated in \(f($0, 1)) s" } ?? "").
        Cold = the cache's files dropped from the page cache first (`posix_fadvise DONTNEED`\(r.evictedPageCache ? "" : ", which failed: numbers are warm")).

        | measurement | value | target |
        |---|---|---|
        | cold open | \(f(r.coldOpenMs)) ms | |
        | cold first summary | \(f(r.coldFirstSummaryMs)) ms | |
        | cold first record | \(f(r.coldFirstRecordMs)) ms | |
        | cold open + summary + record | \(f(r.coldTotalMs)) ms | ≤ 100 ms |
        | warm record read, median of \(r.samples) random latents | \(f(r.warmRecordMedianUs, 1)) µs | ≤ 1 ms |
        | warm record read, p99 (wall / thread CPU time) | \(f(r.warmRecordP99Us, 1)) / \(f(r.warmRecordP99CpuUs, 1)) µs | |
        | warm summary (index + annotations), median | \(f(r.warmSummaryMedianUs, 1)) µs | |
        | statistics of all \(r.latents) latents (to sort the list; index only) | \(f(r.allStatisticsMs, 1)) ms | |
        | RSS before open → after open | \(r.rssBeforeOpenKB) → \(r.rssAfterOpenKB) kB (+\(r.rssAfterOpenKB - r.rssBeforeOpenKB)) | not growing with latents |
        | RSS growth from cold open + summary + record | +\(r.rssAfterFirstRecordKB - r.rssBeforeOpenKB) kB | |
        \(r.baselineLatents.map { "| the same on a \($0)-latent cache (same corpus) | \(f(r.baselineColdOpenMs ?? 0)) ms, RSS +\(r.baselineOpenRSSGrowthKB ?? 0) kB | |\n" } ?? "")\
        | RSS after first record → after \(r.samples) records and all statistics | \(r.rssAfterFirstRecordKB) → \(r.rssAfterSamplesKB) kB | |
        | builder streaming (top-\(r.activePerToken) per token) | \(f(r.builderStreamUsPerToken, 3)) µs/token | |
        | builder finalize | \(f(r.builderFinalizeUsPerActivation, 3)) µs per nonzero activation | |
        \(r.forwardUsPerToken.map { "| bare forward pass (SmolLM2-135M, 4 × 256 tokens, one hook, no logits) | \(f($0, 1)) µs/token | |\n" } ?? "")\
        \(r.builderOverheadPercent.map { "| builder (stream + finalize, one top-\(r.activePerToken) part) / forward | \(f($0, 1)) % | ≤ 15% |\n" } ?? "")\

        \(r.realBuild.map { b in "Real build (`featurescope cache --json`\(r.realBuildDescription.map { ", " + $0 } ?? "")): \(b.tokens) tokens; model + SAE encode \(f(b.sourceSeconds, 1)) s, cache streaming \(f(b.streamSeconds, 2)) s, finalize \(f(b.finalizeSeconds, 2)) s: **the cache adds \(f(b.overheadPercent, 1)) %** (target ≤ 15%).\n\n" } ?? "")\
        Opening maps the files and reads only headers, so its cost and memory do not depend on the number of
        latents; memory after reading records grows only by the (file-backed, reclaimable) pages touched.
        """
    }

    /// Replaces (or appends) the "## Latent cache" section of a markdown file.
    public static func writeSection(_ section: String, to path: String) throws {
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Performance\n"
        if let r = text.range(of: "## Latent cache") {
            let rest = text[r.upperBound...]
            let end = rest.range(of: "\n## ")?.lowerBound ?? text.endIndex
            text.replaceSubrange(r.lowerBound ..< end, with: section.trimmingCharacters(in: .newlines) + "\n")
        } else {
            if !text.hasSuffix("\n") { text += "\n" }
            text += "\n" + section.trimmingCharacters(in: .newlines) + "\n"
        }
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw CacheError.writeFailed(path: path, reason: "\(error)")
        }
    }
}
