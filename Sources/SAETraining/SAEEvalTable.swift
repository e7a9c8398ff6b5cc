import Foundation
import FeaturescopeCore

/// Human-readable table of an evaluation report.
public enum SAEEvalTable {
    public static func render(_ report: SAEEvalReport) -> String {
        var lines: [String] = []
        let f3 = { (x: Double) in String(format: "%.3f", x) }
        let f4 = { (x: Double) in String(format: "%+.4f", x) }
        let pct = { (x: Double) in String(format: "%.2f%%", x * 100) }
        for r in report.results {
            lines.append("SAE \(SafeText.sanitize(r.sae))  (\(SafeText.sanitize(r.hook)), \(r.dSAE) latents)")
            lines.append("  tokens evaluated        \(r.tokens) (\(r.rows) rows)")
            lines.append("  FVU                     \(String(format: "%.4f", r.fvu))")
            lines.append("  mean L0                 \(String(format: "%.2f", r.meanL0))")
            lines.append("  dead (never fired)      \(r.deadLatents) (\(pct(r.deadFraction)))")
            lines.append("  dense (> \(pct(r.denseThreshold)) of tokens) \(r.denseLatents) (\(pct(r.denseFraction)))")
            lines.append("  CE on \(r.ceTokens) tokens (\(r.ceRows) rows), clean / spliced / zero-ablated  \(f3(r.ceClean)) / \(f3(r.ceSpliced)) / \(f3(r.ceZeroAblated)) nats")
            lines.append("  ΔCE (spliced − clean)   \(f4(r.deltaCE)) nats  [95% CI \(f4(r.deltaCEInterval.low)), \(f4(r.deltaCEInterval.high))]")
            lines.append("  loss recovered          \(pct(r.lossRecovered))  [95% CI \(pct(r.lossRecoveredInterval.low)), \(pct(r.lossRecoveredInterval.high))]")
        }
        lines.append(String(format: "%.1f s, %.0f evaluated tokens/s (all forward passes)", report.seconds, report.tokensPerSecond))
        return lines.joined(separator: "\n")
    }
}
