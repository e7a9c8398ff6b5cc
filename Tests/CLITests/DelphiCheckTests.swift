import Foundation
import XCTest

/// Opt-in (FEATURESCOPE_DELPHI_CHECK=1): the delphi round trip read by delphi 0.1.3's own code —
/// `scripts/delphi-check/run.sh` with the venv `scripts/delphi-check/setup.sh` makes (docs/delphi.md).
/// It exports sample-data/cache, runs delphi's result_analysis load_data + log_results and LatentDataset
/// on it, imports that run, and checks the re-export the same way; then the same for a run delphi's own code
/// wrote (Tests/Fixtures/delphi/run).
final class DelphiCheckTests: XCTestCase {
    func testDelphisOwnCodeReadsTheExportAndTheReExport() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["FEATURESCOPE_DELPHI_CHECK"] == "1" else {
            throw XCTSkip("opt-in: set FEATURESCOPE_DELPHI_CHECK=1 (after scripts/delphi-check/setup.sh)")
        }
        guard let bin = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let work = NSTemporaryDirectory() + "delphi-check-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("scripts/delphi-check/run.sh").path, bin]
        p.currentDirectoryURL = root
        p.environment = env.merging(["DELPHI_CHECK_WORK": work]) { _, new in new }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, out)
        XCTAssertEqual(out.components(separatedBy: "delphi check: OK").count - 1, 3, out)
        XCTAssertTrue(out.contains("LatentDataset records checked against the split files:") && out.contains(" 0 differ"), out)
        for scorer in ["detection", "fuzz"] {
            XCTAssertTrue(out.contains("\(scorer)_accuracy.pdf"), out)
        }
        XCTAssertTrue(out.contains("delphi round trip: OK"), out)
    }
}
