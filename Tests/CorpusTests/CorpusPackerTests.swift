import Foundation
import XCTest
@testable import Corpus

final class CorpusPackerTests: XCTestCase {
    func testPackRoundTripFromFolderAndJSONL() throws {
        let dir = try TempFolder()
        _ = try dir.write("in/b/two.txt", "gamma delta epsilon")
        _ = try dir.write("in/a/one.txt", "alpha beta")
        _ = try dir.write("in/.hidden.txt", "never read")
        _ = try dir.write("in/notes.md", "ignored")
        let jsonl = try dir.write("docs.jsonl", """
            {"text": "zeta eta theta iota", "source": "pkg", "title": "T1"}

            {"text": "kappa", "title": "T2"}
            """)
        let toy = ToyEncoder()
        let summary = try CorpusPacker.pack(
            inputs: [dir.file("in"), jsonl], outputDirectory: dir.file("out"),
            options: CorpusPackOptions(contextLength: 3, heldoutFraction: 0, tokenizerName: "toy", command: "corpus test"),
            vocabSize: toy.vocab, eosTokenId: ToyEncoder.eos, encode: { toy.encode($0) })
        // documents in order: a/one.txt, b/two.txt, T1, T2 -> 3 + 4 + 5 + 2 = 14 tokens -> 4 rows, 2 dropped
        XCTAssertEqual(summary.documentsRead, 4)
        XCTAssertEqual(summary.encodedTokens, 14)
        XCTAssertEqual(summary.train.rows, 4)
        XCTAssertEqual(summary.train.tokens, 12)
        XCTAssertEqual(summary.train.droppedTokens, 2)
        XCTAssertEqual(summary.heldout.documents, 0)
        XCTAssertEqual(summary.heldout.rows, 0)
        XCTAssertEqual(summary.inputFiles, 3)

        let file = try TokenFile(path: summary.train.path, validateTokens: true)
        let words = toy.decode(file.tokens)
        XCTAssertEqual(words, ["alpha", "beta", "<eos>", "gamma", "delta", "epsilon", "<eos>",
                               "zeta", "eta", "theta", "iota", "<eos>"])
        XCTAssertEqual(toy.decode(try file.row(1)), ["gamma", "delta", "epsilon"])
        XCTAssertEqual(toy.decode(try file.row(2)), ["<eos>", "zeta", "eta"])
        let docs = file.provenance.documents
        XCTAssertEqual(docs.map(\.title), ["a/one.txt", "b/two.txt", "T1"])
        XCTAssertEqual(docs.map(\.source), ["a/one.txt", "b/two.txt", "pkg"])
        XCTAssertEqual(docs.map(\.firstToken), [0, 3, 7])
        XCTAssertEqual(file.provenance.split, "train")
        XCTAssertEqual(file.provenance.command, "corpus test")
        XCTAssertEqual(file.provenance.droppedTokens, 2)
        let held = try TokenFile(path: summary.heldout.path)
        XCTAssertEqual(held.rowCount, 0)
        XCTAssertEqual(held.provenance.split, "heldout")
    }

    func testHeldOutSplitIsDeterministicAndDisjoint() throws {
        let dir = try TempFolder()
        var lines: [String] = []
        for i in 0..<400 { lines.append(#"{"text": "w\#(i) common words here", "source": "s", "title": "doc \#(i)"}"#) }
        let jsonl = try dir.write("many.jsonl", lines.joined(separator: "\n"))
        let toy = ToyEncoder()
        func run(_ out: String) throws -> CorpusPackSummary {
            try CorpusPacker.pack(inputs: [jsonl], outputDirectory: dir.file(out),
                                  options: CorpusPackOptions(contextLength: 5, heldoutFraction: 0.25, workers: 2, batchDocuments: 7),
                                  vocabSize: toy.vocab, eosTokenId: ToyEncoder.eos, encode: { toy.encode($0) })
        }
        let first = try run("one")
        let second = try run("two")
        XCTAssertEqual(first.heldout.documents, second.heldout.documents)
        for name in [CorpusPacker.trainFileName, CorpusPacker.heldoutFileName] {
            let a = try Data(contentsOf: URL(fileURLWithPath: dir.file("one/\(name)")))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir.file("two/\(name)")))
            XCTAssertEqual(a, b, "\(name) differs between identical runs")
        }
        XCTAssertEqual(first.train.documents + first.heldout.documents, 400)
        // about a quarter held out (binomial sd ≈ 8.7 documents)
        XCTAssertGreaterThan(first.heldout.documents, 60)
        XCTAssertLessThan(first.heldout.documents, 140)
        let train = try TokenFile(path: first.train.path)
        let held = try TokenFile(path: first.heldout.path)
        let trainTitles = Set(train.provenance.documents.map(\.title))
        let heldTitles = Set(held.provenance.documents.map(\.title))
        XCTAssertTrue(trainTitles.isDisjoint(with: heldTitles))
        for title in heldTitles {
            XCTAssertTrue(HeldOutSplit.isHeldOut(source: "s", title: title, fraction: 0.25))
        }
    }

    func testHeldOutSplitRule() {
        XCTAssertFalse(HeldOutSplit.isHeldOut(source: "a", title: "b", fraction: 0))
        let v = HeldOutSplit.unitValue(source: "janeausten", title: "Emma, Chapter 1")
        XCTAssertEqual(v, HeldOutSplit.unitValue(source: "janeausten", title: "Emma, Chapter 1"))
        XCTAssertNotEqual(v, HeldOutSplit.unitValue(source: "janeausten", title: "Emma, Chapter 2"))
        // the separator keeps ("ab", "c") apart from ("a", "bc")
        XCTAssertNotEqual(HeldOutSplit.unitValue(source: "ab", title: "c"), HeldOutSplit.unitValue(source: "a", title: "bc"))
        var held = 0
        for i in 0..<10_000 {
            let u = HeldOutSplit.unitValue(source: "src", title: "t\(i)")
            XCTAssertTrue(u >= 0 && u < 1)
            if HeldOutSplit.isHeldOut(source: "src", title: "t\(i)", fraction: 0.05) { held += 1 }
        }
        XCTAssertGreaterThan(held, 400)   // expected 500, sd ≈ 22
        XCTAssertLessThan(held, 600)
    }

    func testMaxTokensStopsEarly() throws {
        let dir = try TempFolder()
        let lines = (0..<50).map { #"{"text": "one two three four", "title": "d\#($0)"}"# }
        let jsonl = try dir.write("d.jsonl", lines.joined(separator: "\n"))
        let toy = ToyEncoder()
        let summary = try CorpusPacker.pack(
            inputs: [jsonl], outputDirectory: dir.file("out"),
            options: CorpusPackOptions(contextLength: 4, heldoutFraction: 0, maxTokens: 23, batchDocuments: 4),
            vocabSize: toy.vocab, eosTokenId: ToyEncoder.eos, encode: { toy.encode($0) })
        XCTAssertTrue(summary.stoppedAtMaxTokens)
        XCTAssertEqual(summary.documentsRead, 5)      // 5 tokens each: stops at 25 >= 23
        XCTAssertEqual(summary.encodedTokens, 25)
        XCTAssertEqual(summary.train.rows, 6)
    }

    func testEncoderErrorsAbortWithoutLeavingFiles() throws {
        struct Boom: Error {}
        let dir = try TempFolder()
        let input = try dir.write("a.txt", "text")
        XCTAssertThrowsError(try CorpusPacker.pack(inputs: [input], outputDirectory: dir.file("out"),
                                                   options: CorpusPackOptions(), vocabSize: 10, eosTokenId: 0,
                                                   encode: { _ in throw Boom() }))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.file("out")), [])
    }
}
