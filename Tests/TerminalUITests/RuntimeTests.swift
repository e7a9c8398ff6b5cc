import XCTest
@testable import TerminalUI
import TestSupport

final class RuntimeTests: XCTestCase {
    func testRuntimeRunsEffectsInTheBackgroundAndRestoresTheTerminal() throws {
        let data = SyntheticBrowserData(latentCount: 500)
        let env = BrowserEnvironment(data: data, promptEngine: SyntheticPromptEngine(data: data, delay: .milliseconds(50)),
                                     actionRunner: SyntheticActionRunner(data: data, stepDelay: .milliseconds(10)))
        let term = TestTerminal(size: Size(width: 100, height: 30), script: [
            .waitFor("row 1 of 500", timeout: .seconds(5)),
            .event(.key(.char(">"))), .event(.key(.char(">"))),
            .waitFor("sorted by density ▼", timeout: .seconds(5)),
            .event(.key(.enter)),
            .waitFor("Explanation", timeout: .seconds(5)),
            .event(.key(.char("5"))),
            .event(.key(.char("h"))), .event(.key(.char("i"))), .event(.key(.enter)),
            .waitFor("running the prompt", timeout: .seconds(5)),
            .waitFor("Top latents at", timeout: .seconds(5)),
            .event(.resize(Size(width: 60, height: 14))),
            .event(.key(.char("q"))),
        ])
        let runtime = BrowserRuntime(backend: term, environment: env)
        try runtime.run()
        XCTAssertTrue(term.started)
        XCTAssertTrue(term.stopped, "the terminal is given back")
        let texts = term.frames.map(\.text)
        XCTAssertTrue(texts.contains { $0.contains("sorted by density ▼") })
        XCTAssertTrue(texts.contains { $0.contains("running the prompt") }, "a spinner frame while the engine works")
        XCTAssertTrue(texts.contains { $0.contains("Top latents at") })
        XCTAssertEqual(term.frames.last?.size, Size(width: 60, height: 14))
        XCTAssertTrue(runtime.state.quitting)
        XCTAssertNil(runtime.exitSignal)
    }

    func testSignalEndsTheLoopAndIsReported() throws {
        let data = SyntheticBrowserData(latentCount: 10)
        let term = TestTerminal(size: Size(width: 80, height: 24), script: [.event(.signal(15))])
        let runtime = BrowserRuntime(backend: term, environment: BrowserEnvironment(data: data))
        try runtime.run()
        XCTAssertEqual(runtime.exitSignal, 15)
        XCTAssertTrue(term.stopped)
    }
}
