import Foundation

/// Parsing of scorer replies, as delphi does it.
public enum ReplyParsing {
    /// Why a batch's reply gave no predictions.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noList
        case notAList(String)
        case wrongLength(expected: Int, found: Int)
        case notBinary(String)

        public var description: String {
            switch self {
            case .noList: return "reply holds no [...] list"
            case .notAList(let s): return "reply's first [...] is not a valid list: \(s)"
            case .wrongLength(let e, let f): return "reply's list has \(f) values, expected \(e)"
            case .notBinary(let s): return "reply's list holds a value other than 0/1: \(s)"
            }
        }
    }

    /// The first `[...]` on one line (delphi's regex `\[.*?\]`: `.` does not cross newlines).
    public static func firstBracketed(_ text: String) -> Substring? {
        var i = text.startIndex
        while let open = text[i...].firstIndex(of: "[") {
            var j = text.index(after: open)
            while j < text.endIndex, text[j] != "]", text[j] != "\n" { j = text.index(after: j) }
            if j < text.endIndex, text[j] == "]" { return text[open...j] }
            i = text.index(after: open)
        }
        return nil
    }

    /// Parses a Python-style list of exactly `count` values 0/1 (JSON booleans accepted too).
    public static func parseBinaryList(_ reply: String, count: Int) -> Result<[Bool], Failure> {
        guard let list = firstBracketed(reply) else { return .failure(.noList) }
        let excerpt = String(list.prefix(80))
        guard let data = String(list).data(using: .utf8),
              let array = (try? JSONSerialization.jsonObject(with: data, options: [])) as? [Any] else {
            return .failure(.notAList(excerpt))
        }
        guard array.count == count else { return .failure(.wrongLength(expected: count, found: array.count)) }
        var out: [Bool] = []
        for v in array {
            if let n = v as? NSNumber {
                // JSON true/false and integers 0/1 only.
                let d = n.doubleValue
                if d == 0 { out.append(false) } else if d == 1 { out.append(true) } else { return .failure(.notBinary(excerpt)) }
            } else {
                return .failure(.notBinary(excerpt))
            }
        }
        return .success(out)
    }

    /// P("1") / (P("0") + P("1")) per answer token, from the top alternatives.
    ///
    /// delphi's rule: a generated token is an answer when its text contains "1" or "0"; P(0) sums
    /// the alternatives whose text contains "0", P(1) those containing "1" (and not "0"); when
    /// both are 0 the probability is 0. Featurescope first keeps only the tokens that lie inside
    /// the parsed list (so digits in surrounding prose do not count), falling back to all tokens
    /// when the tokens do not spell the reply. Nil when the answer tokens are not `count`.
    public static func binaryProbabilities(_ logprobs: [TokenLogprob], reply: String, count: Int) -> [Double]? {
        var tokens = logprobs
        if let list = firstBracketed(reply), tokens.map(\.token).joined() == reply {
            let start = reply.distance(from: reply.startIndex, to: list.startIndex)
            let end = reply.distance(from: reply.startIndex, to: list.endIndex)
            var offset = 0
            tokens = logprobs.filter { t in
                let s = offset
                offset += t.token.count
                return offset > start && s < end
            }
        }
        var probs: [Double] = []
        for t in tokens where t.token.contains("1") || t.token.contains("0") {
            var p0 = 0.0, p1 = 0.0
            for alt in t.topAlternatives {
                if alt.token.contains("0") { p0 += exp(alt.logprob) } else if alt.token.contains("1") { p1 += exp(alt.logprob) }
            }
            probs.append(p0 + p1 > 0 ? p1 / (p0 + p1) : 0)
        }
        return probs.count == count ? probs : nil
    }
}
