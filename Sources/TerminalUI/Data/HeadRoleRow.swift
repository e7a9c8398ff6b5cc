import Foundation

/// One attention head's role scores (mean attention weights 0…1 and row entropy in nats) on the probe
/// sequences of `featurescope heads`.
public struct HeadRoleRow: Sendable, Equatable {
    public var head: Int
    public var previousToken: Double
    public var induction: Double
    public var firstToken: Double
    public var selfAttention: Double
    public var entropy: Double

    public init(head: Int, previousToken: Double, induction: Double, firstToken: Double, selfAttention: Double, entropy: Double) {
        self.head = head; self.previousToken = previousToken; self.induction = induction
        self.firstToken = firstToken; self.selfAttention = selfAttention; self.entropy = entropy
    }

    /// The strongest role as a short tag with its score ("ind .87"), or "mix" when none passes 0.4.
    public var tag: String {
        let roles = [("ind", induction), ("prev", previousToken), ("bos", firstToken), ("self", selfAttention)]
        guard let best = roles.max(by: { $0.1 < $1.1 }), best.1 > 0.4 else { return "mix" }
        return best.0 + " " + String(format: "%.2f", best.1).replacingOccurrences(of: "0.", with: ".")
    }
}
