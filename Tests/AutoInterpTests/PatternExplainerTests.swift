import XCTest
@testable import AutoInterp

/// The counted pattern of a latent's strongest windows, the explanation written from it, and the grounded prompt
/// that hands it to an LLM.
final class PatternExplainerTests: XCTestCase {
    /// A window whose activation peaks (10) at `peak` and is 0 elsewhere.
    static func window(_ tokens: [String], peak: Int) -> ActivationWindow {
        ActivationWindow(tokens: tokens, activations: tokens.indices.map { $0 == peak ? 10 : 0 }, distance: 0)
    }

    func testThePeakTokenAndTheTokenBefore() {
        // " the" after " in" in four of five examples: the explanation names both.
        let ws = [
            Self.window(["We", " met", " in", " the", " hall", "."], peak: 3),
            Self.window(["Stay", " in", " the", " car", "."], peak: 2),
            Self.window(["It", " is", " in", " the", " box", " now"], peak: 3),
            Self.window(["Put", " it", " in", " the", " drawer"], peak: 3),
            Self.window(["On", " the", " table"], peak: 1),
        ]
        let p = LatentPattern(ws)
        XCTAssertEqual(p.examples, 5)
        XCTAssertEqual(p.peakTokens.first, LatentPattern.Count(value: "the", examples: 5))
        XCTAssertEqual(p.previousTokens.first, LatentPattern.Count(value: "in", examples: 4))
        XCTAssertEqual(PatternExplainer.explanation(p), "The token \"the\", after \"in\".")
    }

    func testSeveralTokensAWordAndCaseFolding() {
        // Word pieces: "ou" of "Thou"/"thou"; the previous token counted case-insensitively ("Th" and "th").
        let ws = [
            Self.window(["O", " Th", "ou", " art"], peak: 2),
            Self.window(["and", " th", "ou", " shalt"], peak: 2),
            Self.window(["Speak", ",", " Th", "ou", "!"], peak: 3),
            Self.window(["Th", "ine", " eyes"], peak: 1),
        ]
        let p = LatentPattern(ws)
        XCTAssertEqual(p.previousTokens.first?.examples, 4, "\"Th\" and \"th\" are one token for the counts")
        XCTAssertEqual(p.previousTokens.first?.value, "Th", "shown in its commonest spelling")
        XCTAssertEqual(p.inWord, 4)
        XCTAssertEqual(PatternExplainer.explanation(p), "The token \"ou\", after \"Th\", in \"Thou\".")
    }

    func testAnEarlierTriggerAndVariedTokens() {
        // The peak varies; "After" is 2–3 tokens before it in every example and nowhere else in the windows.
        let ws = [
            Self.window(["The", " king", " rode", " north", ".", " ", "After", " this", ",", " he", " left", " the", " city"], peak: 8),
            Self.window(["Rain", " fell", " all", " day", ";", " ", "After", " tea", " we", " went", " out", " again"], peak: 8),
            Self.window(["She", " wrote", " to", " him", ".", " ", " after", " that", " it", " rained", " for", " weeks"], peak: 8),
            Self.window(["They", " built", " the", " wall", ".", " ", "After", " him", " came", " Ezra", " and", " Ne"], peak: 8),
        ]
        let p = LatentPattern(ws)
        XCTAssertEqual(p.recentToken?.value, "After")
        XCTAssertEqual(p.recentToken?.examples, 4)
        XCTAssertEqual(PatternExplainer.explanation(p), "\",\", \"we\" or \"it\", shortly after \"After\".")
    }

    func testKindsOfTokensAndNothing() {
        let digits = (0 ..< 5).map { Self.window(["in", " the", " year", " \($0 + 1)"], peak: 3) }
        XCTAssertTrue(PatternExplainer.explanation(LatentPattern(digits)).hasPrefix("A number (\"1\", \"2\" or \"3\")"))
        let breaks = ["ROMEO", "JULIET", "NURSE", "TYBALT", "PARIS"].map { Self.window(["\n", $0, ".", "\n", "Good", " night"], peak: 3) }
        XCTAssertEqual(PatternExplainer.explanation(LatentPattern(breaks)), "The token \"\\n\", after a word in capitals and \".\", in plays.",
                       "a speaker's name in a play")
        XCTAssertEqual(PatternExplainer.explanation(LatentPattern([])), "No token stands out.")
        XCTAssertEqual(LatentPattern([ActivationWindow(tokens: ["a"], activations: [0])]).examples, 0,
                       "a window that never fires is not counted")
    }

    func testExplainerRecordAndTheGroundedPrompt() async throws {
        let ws = (0 ..< 10).map { i in Self.window(["x\(i)", " in", " the", " end"], peak: 2) }
        let r = try await PatternExplainer().explain(SampledExamples(latent: 3, hook: "h", maxActivation: 10, train: ws,
                                                                      test: [], nonActivating: []))
        XCTAssertEqual(r.explanation, "The token \"the\", after \"in\".")
        XCTAssertEqual(r.provenance.method, "pattern")
        XCTAssertEqual(r.provenance.promptVersion, "pattern-v1")

        var o = Explainer.Options()
        o.promptStyle = .grounded
        let e = Explainer(client: ScriptedClient { _, _ in ChatResponse(text: "") }, options: o)
        XCTAssertEqual(e.promptVersion, "featurescope-explainer-grounded-v1")
        let msgs = e.messages(train: ws, maxActivation: 10)
        XCTAssertEqual(msgs[0].content, ExplainerPrompts.groundedSystem)
        XCTAssertEqual(msgs.count, 1 + 2 * ExplainerPrompts.groundedDemos.count + 1)
        let last = msgs.last?.content ?? ""
        XCTAssertEqual(last.components(separatedBy: "\n").filter { $0.hasPrefix("Example ") }.count, 8,
                       "at most 8 of the examples are shown")
        XCTAssertTrue(last.hasSuffix("\n\nCounted pattern: The token \"the\", after \"in\".\n"), last)
        // Each demonstration's pattern is counted from its own examples.
        XCTAssertTrue(msgs[1].content.hasSuffix("\n\nCounted pattern: The token \"):\".\n"), msgs[1].content)
    }

    func testQuotesWordFormsAndPlays() {
        XCTAssertEqual(LatentPattern.key(" Let\u{2019}s"), "Let's")
        XCTAssertEqual(LatentPattern.stem("stores"), "stor")
        XCTAssertEqual(LatentPattern.stem("storing"), "stor")
        XCTAssertEqual(LatentPattern.stem("stored"), "stor")
        XCTAssertEqual(LatentPattern.stem("was"), "was", "too short to take an ending off")
        XCTAssertEqual(LatentPattern.stem("x_1s"), "x_1s", "only words")
        XCTAssertTrue(LatentPattern.looksLikePlay("thou art.\n\nROMEO.\nGood night"))
        XCTAssertTrue(LatentPattern.looksLikePlay("away.\n[Exeunt Montague and Lady.]"))
        XCTAssertFalse(LatentPattern.looksLikePlay("Note.\nThe function returns None."))
        // "store", "stores", "stored" a few tokens before "in": one recent token, shown in its commonest spelling.
        let tail = [" and", " then", " read", " it", " back", " later", " when", " needed", " by", " callers", " of", " it"]
        let ws = [
            Self.window(["We", " store", " the", " value", " in", " a", " list"] + tail, peak: 4),
            Self.window(["It", " stores", " NULL", " in", " the", " key"] + tail, peak: 3),
            Self.window(["Values", " are", " stored", " in", " a", " deque"] + tail, peak: 3),
            Self.window(["You", " can", " store", " types", " in", " SQLite"] + tail, peak: 4),
        ]
        XCTAssertEqual(PatternExplainer.explanation(LatentPattern(ws)), "The token \"in\", shortly after \"store\".")
        // Speaker lines in most windows: "in plays".
        let play = ["ROMEO", "JULIET", "NURSE"].map { Self.window(["\n\n", $0, ".", "\n", "Good", " night", ",", " sweet"], peak: 6) }
        XCTAssertTrue(PatternExplainer.explanation(LatentPattern(play)).hasSuffix(", in plays."))
    }
}
