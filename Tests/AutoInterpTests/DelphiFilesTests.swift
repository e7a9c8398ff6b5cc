import XCTest
@testable import AutoInterp

final class DelphiFilesTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "autointerp-delphi-\(UUID().uuidString)"
    }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testPaths() throws {
        let run = DelphiRun(root: "/r")
        XCTAssertEqual(try run.explanationPath(hook: "blocks.6.hook_resid_post", latent: 12),
                       "/r/explanations/blocks.6.hook_resid_post_latent12.txt")
        XCTAssertEqual(try run.scorePath(scorer: "fuzz", hook: "model/layers.6", latent: 3),
                       "/r/scores/fuzz/model--layers.6_latent3.txt")
        XCTAssertThrowsError(try run.scorePath(scorer: "fuzz", hook: "../etc", latent: 0))
        XCTAssertThrowsError(try run.explanationPath(hook: "", latent: 0))
    }

    func testExplanationRoundTripIsJSONStringLiteral() throws {
        let run = DelphiRun(root: dir)
        let text = "Quotes \"x\", back\\slash, new\nline, tab\t, unicode é ✓, control \u{01}"
        try run.writeExplanation(text, hook: "blocks.1.hook_mlp_out", latent: 5)
        let raw = try String(contentsOfFile: run.explanationPath(hook: "blocks.1.hook_mlp_out", latent: 5), encoding: .utf8)
        XCTAssertEqual(raw, "\"Quotes \\\"x\\\", back\\\\slash, new\\nline, tab\\t, unicode é ✓, control \\u0001\"")
        XCTAssertEqual(try run.readExplanation(hook: "blocks.1.hook_mlp_out", latent: 5), text)
        XCTAssertNil(try run.readExplanation(hook: "blocks.1.hook_mlp_out", latent: 6))
    }

    func testScoreFileKnownTextAndRoundTrip() throws {
        let run = DelphiRun(root: dir)
        let samples = [
            ScoredSample(strTokens: ["a", " \"b\""], activations: [0, 2.5], distance: 3, activating: true,
                         prediction: true, probability: 0.75, correct: true, shownText: "a<< \"b\">>"),
            ScoredSample(strTokens: ["c"], activations: [0], distance: -1, activating: false,
                         prediction: nil, probability: nil, correct: nil, shownText: "c"),
        ]
        try run.writeClassifierScores(samples, scorer: "detection", hook: "blocks.2.hook_resid_post", latent: 9)
        let path = try run.scorePath(scorer: "detection", hook: "blocks.2.hook_resid_post", latent: 9)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8),
                       #"[{"str_tokens":["a"," \"b\""],"activations":[0.0,2.5],"distance":3,"activating":true,"prediction":true,"probability":0.75,"correct":true},"#
                       + #"{"str_tokens":["c"],"activations":[0.0],"distance":-1,"activating":false,"prediction":null,"probability":null,"correct":null}]"#)
        let back = try run.readClassifierScores(scorer: "detection", hook: "blocks.2.hook_resid_post", latent: 9)
        XCTAssertEqual(back.map(\.scoredSample).map(\.strTokens), samples.map(\.strTokens))
        XCTAssertEqual(back.map(\.prediction), [true, nil])
        XCTAssertEqual(back.map(\.distance), [3, -1])
        // Metrics from the file equal metrics from memory.
        XCTAssertEqual(ClassifierMetrics(samples: back.map(\.scoredSample)), ClassifierMetrics(samples: samples))
    }

    /// Floats as delphi's orjson writes them (Tests/Fixtures/delphi/json_formats.json holds orjson's own output).
    func testScoreFileFloatsAsOrjsonWritesThem() throws {
        let s = DelphiClassifierSample(strTokens: ["a", "b", "c"], activations: [1.25e-5, 1e-6, 1e16], distance: 0, activating: true,
                                       prediction: nil, probability: 2.5e-5, correct: nil)
        let text = DelphiJSON.classifierArray([s])
        XCTAssertTrue(text.contains("\"activations\":[0.0000125,1e-6,1e16]"), text)
        XCTAssertTrue(text.contains("\"probability\":0.000025"), text)
    }

    func testReadsPythonWrittenFile() throws {
        // What delphi writes: ints as predictions (from json.loads), NaN, float distances, spaces.
        let text = """
        [{"str_tokens": ["x", "y"], "activations": [0.0, 1.5], "distance": 0, "activating": true, "prediction": 1, "probability": NaN, "correct": true},
         {"str_tokens": ["z"], "activations": [0], "distance": -1.0, "activating": false, "prediction": 0, "probability": 0.25, "correct": true}]
        """
        let path = dir + "/scores/fuzz/h_latent0.txt"
        try FileManager.default.createDirectory(atPath: dir + "/scores/fuzz", withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let s = try DelphiRun.readClassifierScores(at: path)
        XCTAssertEqual(s.map(\.prediction), [true, false])
        XCTAssertNil(s[0].probability, "NaN is read as null")
        XCTAssertEqual(s[1].distance, -1)
        XCTAssertEqual(s[1].probability, 0.25)
    }

    func testMalformedScoreFileIsAClearError() throws {
        let path = dir + "/bad.txt"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "[{\"str_tokens\": [\"x\"]}]".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DelphiRun.readClassifierScores(at: path)) { e in
            XCTAssertTrue(String(describing: e).contains("activations"), String(describing: e))
        }
        try "{\"not\": \"array\"".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DelphiRun.readClassifierScores(at: path))
    }

    func testSimulationFileReadable() throws {
        let text = """
        [{"distance": 0, "ev_correlation_score": 0.42, "scored_sequence_simulations": [{}, {}]},
         {"distance": 1, "ev_correlation_score": "nan", "scored_sequence_simulations": []},
         {"distance": 2, "ev_correlation_score": NaN, "scored_sequence_simulations": []}]
        """
        let path = dir + "/sim.txt"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let e = try DelphiRun.readSimulationScores(at: path)
        XCTAssertEqual(e.map(\.distance), [0, 1, 2])
        XCTAssertEqual(e[0].evCorrelationScore, 0.42)
        XCTAssertEqual(e[0].sequenceCount, 2)
        XCTAssertTrue(e[1].evCorrelationScore.isNaN && e[2].evCorrelationScore.isNaN)
    }
}

final class RecordCodingTests: XCTestCase {
    func testScoreRecordRoundTripAndOlderShape() throws {
        let p = Provenance(method: "fuzz", model: "m", endpoint: "http://h:1/v1", promptVersion: "v1",
                           date: Date(timeIntervalSince1970: 1_700_000_000))
        var r = ScoreRecord(latent: 4, hook: "blocks.1.hook_resid_post", provenance: p, explanation: "e",
                            samples: [ScoredSample(strTokens: ["a"], activations: [1], distance: 0, activating: true,
                                                   prediction: true, probability: 0.5, correct: true, shownText: "<<a>>")],
                            batchFailures: ["batch 1: x"])
        r.requestFailures = 2
        let enc = JSONEncoder()
        enc.dateEncodingStrategy = .iso8601
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let data = try enc.encode(r)
        XCTAssertEqual(try dec.decode(ScoreRecord.self, from: data), r)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        object.removeValue(forKey: "requestFailures")
        object.removeValue(forKey: "batchFailures")
        let older = try dec.decode(ScoreRecord.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(older.requestFailures, 0)
        XCTAssertEqual(older.batchFailures, [])
        XCTAssertEqual(older.samples, r.samples)
    }
}
