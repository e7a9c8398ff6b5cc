import XCTest
@testable import AutoInterp

final class ParsingTests: XCTestCase {
    func testValidLists() {
        XCTAssertEqual(try ReplyParsing.parseBinaryList("[1, 0, 1, 1, 0]", count: 5).get(), [true, false, true, true, false])
        XCTAssertEqual(try ReplyParsing.parseBinaryList("Sure! Answer: [0,0,1] as asked.", count: 3).get(), [false, false, true])
        XCTAssertEqual(try ReplyParsing.parseBinaryList("[true, false]", count: 2).get(), [true, false])
        // The first [...] on one line wins: a bracket without a closing one on its line is skipped.
        XCTAssertEqual(try ReplyParsing.parseBinaryList("see [note\n[1, 1]", count: 2).get(), [true, true])
    }

    func testMalformedLists() {
        XCTAssertEqual(ReplyParsing.parseBinaryList("no list at all", count: 2), .failure(.noList))
        XCTAssertEqual(ReplyParsing.parseBinaryList("[1, 0", count: 2), .failure(.noList))
        XCTAssertEqual(ReplyParsing.parseBinaryList("[yes, no]", count: 2), .failure(.notAList("[yes, no]")))
        XCTAssertEqual(ReplyParsing.parseBinaryList("[1, 0, 1]", count: 5), .failure(.wrongLength(expected: 5, found: 3)))
        XCTAssertEqual(ReplyParsing.parseBinaryList("[1, 2]", count: 2), .failure(.notBinary("[1, 2]")))
        XCTAssertEqual(ReplyParsing.parseBinaryList("[\"1\", 0]", count: 2), .failure(.notBinary("[\"1\", 0]")))
    }

    private func tok(_ t: String, _ alts: [(String, Double)]) -> TokenLogprob {
        TokenLogprob(token: t, logprob: alts.first?.1 ?? 0, topAlternatives: alts.map { TokenAlternative(token: $0.0, logprob: $0.1) })
    }

    func testProbabilitiesFromTopLogprobs() {
        let reply = "Example 1: [1, 0]"
        let lp = [tok("Example", []), tok(" 1", [(" 1", log(0.9))]), tok(":", []), tok(" [", []),
                  tok("1", [("1", log(0.6)), ("0", log(0.2)), ("2", log(0.2))]),
                  tok(", ", []),
                  tok("0", [("0", log(0.75)), (" 1", log(0.25))]),
                  tok("]", [])]
        let p = ReplyParsing.binaryProbabilities(lp, reply: reply, count: 2)
        XCTAssertEqual(p?.count, 2, "the digit in the prose before the list is not an answer")
        XCTAssertEqual(p?[0] ?? -1, 0.75, accuracy: 1e-9)
        XCTAssertEqual(p?[1] ?? -1, 0.25, accuracy: 1e-9)
        // Neither candidate in the alternatives → 0 (delphi).
        XCTAssertEqual(ReplyParsing.binaryProbabilities([tok("1", [("x", 0)])], reply: "1", count: 1), [0])
        // Wrong number of answer tokens → nil.
        XCTAssertNil(ReplyParsing.binaryProbabilities([tok("1", [("1", 0)])], reply: "1", count: 2))
    }

    func testWholeBatchNullOnBadReply() async throws {
        // Batch 0 answers garbage, batch 1 the wrong length, the rest correctly.
        let client = ScriptedClient { req, i in
            switch i {
            case 0: return ChatResponse(text: "I am not sure.")
            case 1: return ChatResponse(text: "[1, 0]")
            default: return ChatResponse(text: Fixtures.correctAnswer(req))
            }
        }
        var options = ClassifierScorer.Options()
        options.topLogprobs = 0
        let scorer = ClassifierScorer(method: .detection, client: client, options: options)
        let sampled = try ExampleSampler.sample(Fixtures.latent(2, activating: 400))
        let record = try await scorer.score(sampled, explanation: "The word ACT.")
        XCTAssertEqual(record.samples.count, 100)
        XCTAssertEqual(client.requests.count, 20)
        XCTAssertTrue(record.samples[0..<10].allSatisfy { $0.prediction == nil && $0.correct == nil })
        XCTAssertTrue(record.samples[10...].allSatisfy { $0.prediction != nil && $0.correct == true })
        XCTAssertEqual(record.batchFailures.count, 2)
        XCTAssertEqual(record.requestFailures, 0)
        XCTAssertTrue(record.batchFailures[0].contains("no [...] list"))
        XCTAssertTrue(record.batchFailures[1].contains("2 values, expected 5"))
        let m = record.metrics
        XCTAssertEqual(m.nullPredictions, 10)
        XCTAssertEqual(m.balancedAccuracy, 1)
    }
}
