import Foundation
import TestSupport
import XCTest
@testable import TerminalUI

/// The steering panel's state machine (open, strengths, mode, latents, prompt field, streaming, Esc), its drawing
/// (made-safe text, sizes) and the runtime's cancellation of a running generation.
final class SteeringPanelTests: XCTestCase {
    /// A driver with a prompt run in token-browsing mode.
    func promptDriver(size: Size = Size(width: 80, height: 24)) async -> Driver {
        var d = Driver(latents: 500, size: size)
        await d.keys(.char("5"))
        await d.type("The cat")
        await d.keys(.enter)
        return d
    }

    func testOpensFromThePromptViewWithItsPromptAndLatent() async throws {
        var d = await promptDriver()
        let focused = try XCTUnwrap(d.state.focusedLatent)
        await d.keys(.char("t"))
        let p = try XCTUnwrap(d.state.steering)
        XCTAssertEqual(p.prompt, "The cat")
        XCTAssertEqual(p.latents.map(\.latent), [focused.latent])
        XCTAssertNil(p.field)
        // The unit is the latent's max activation from the data source.
        let max = d.data.summary(part: focused.part, latent: focused.latent).maxActivation
        XCTAssertTrue(p.latents[0].unitLoaded)
        XCTAssertEqual(p.latents[0].unit, max)
        XCTAssertEqual(p.request.latents[0].strength, SteeringPanelState.defaultStrength * max, accuracy: 1e-5)
        // t again closes it.
        await d.keys(.char("t"))
        XCTAssertNil(d.state.steering)
    }

    func testOpensFromADetailWithThePromptFieldWhenThereIsNoPrompt() async throws {
        var d = Driver(latents: 500)
        await d.keys(.down, .down, .enter, .char("t"))
        XCTAssertEqual(d.state.steering?.latents.map(\.latent), [2])
        XCTAssertEqual(d.state.steering?.field, .prompt)
        XCTAssertTrue(d.state.isTyping)
        await d.type("Once upon q")   // q is text here, not quit
        XCTAssertFalse(d.state.quitting)
        await d.keys(.backspace, .backspace, .enter)
        XCTAssertEqual(d.state.steering?.prompt, "Once upon")
        XCTAssertNil(d.state.steering?.field)
        // p reopens it with the text; Esc keeps the old prompt.
        await d.keys(.char("p"))
        await d.type(" a time")
        await d.keys(.escape)
        XCTAssertEqual(d.state.steering?.prompt, "Once upon")
        XCTAssertNotNil(d.state.steering, "Esc closed the field, not the panel")
    }

    func testStrengthKeysStepByHalfTheMaxActivation() async throws {
        var d = await promptDriver()
        await d.keys(.char("t"), .char("+"), .char("+"), .char("-"), .char("="))
        XCTAssertEqual(d.state.steering?.latents[0].strength, 5)
        for _ in 0 ..< 12 { await d.keys(.char("-")) }
        XCTAssertEqual(d.state.steering?.latents[0].strength, -1)
        // Without a known max activation a step is one activation unit.
        var p = try XCTUnwrap(d.state.steering)
        p.latents[0].unit = nil
        d.state.steering = p
        await d.keys(.char("+"), .char("+"))
        XCTAssertEqual(d.state.steering?.latents[0].strength, 1)
        XCTAssertEqual(d.state.steering?.request.latents[0].strength, 1)
    }

    func testModeLatentsAndSampler() async throws {
        var d = await promptDriver()
        await d.keys(.char("t"), .char("m"))
        XCTAssertEqual(d.state.steering?.mode, .clamp)
        XCTAssertEqual(d.state.steering?.request.mode, .clamp)
        await d.keys(.char("a"))
        XCTAssertEqual(d.state.steering?.field, .latent)
        await d.type("1x2")    // only digits go into the latent field
        await d.keys(.enter)
        XCTAssertEqual(d.state.steering?.latents.map(\.latent).last, 12)
        XCTAssertEqual(d.state.steering?.cursor, 1)
        XCTAssertEqual(d.state.steering?.latents.last?.unitLoaded, true)
        await d.keys(.char("a"))
        await d.type("500")
        await d.keys(.enter)
        XCTAssertEqual(d.state.steering?.latents.count, 2, "latent 500 is out of range")
        XCTAssertEqual(d.state.message?.isError, true)
        await d.keys(.up, .char("d"))
        XCTAssertEqual(d.state.steering?.latents.map(\.latent), [12])
        await d.keys(.char("T"), .char("r"))
        XCTAssertEqual(d.state.steering?.request.temperature, 0.7)
        XCTAssertEqual(d.state.steering?.request.seed, 1)
        await d.keys(.char("m"))
        XCTAssertEqual(d.state.steering?.mode, .add)
    }

    func testGenerateStreamsBothRunsAndMarksTheDivergence() async throws {
        var d = await promptDriver()
        await d.keys(.char("t"))
        let effects = d.sendOnly(.key(.enter))
        let p = try XCTUnwrap(d.state.steering)
        XCTAssertEqual(effects, [.steer(p.request, generation: 1)])
        XCTAssertEqual(p.phase, .running)
        XCTAssertTrue(d.state.isBusy, "the spinner turns while generating")
        let tok = { (id: Int32) in SteerToken(id: id, text: " w\(id)") }
        _ = d.sendOnly(.steerEvent(generation: 1, .prompt(["The", " cat"])))
        for id: Int32 in [1, 2, 3] { _ = d.sendOnly(.steerEvent(generation: 1, .token(.default, tok(id)))) }
        XCTAssertEqual(d.state.steering?.defaultTokens.count, 3)
        XCTAssertNil(d.state.steering?.firstDivergence)
        XCTAssertTrue(d.render().text.contains("generating steered 0/") == false)
        for id: Int32 in [1, 9] { _ = d.sendOnly(.steerEvent(generation: 1, .token(.steered, tok(id)))) }
        XCTAssertEqual(d.state.steering?.firstDivergence, 1)
        XCTAssertTrue(d.render().text.contains("generating steered 2/"))
        _ = d.sendOnly(.steerEvent(generation: 1, .token(.steered, tok(4))))
        // Stale events (an older generation) are dropped.
        _ = d.sendOnly(.steerEvent(generation: 0, .token(.steered, tok(7))))
        XCTAssertEqual(d.state.steering?.steeredTokens.map(\.id), [1, 9, 4])
        // KL: prompt of 2 and 3 generated → 5 values; steered token j was drawn from element 1 + j.
        _ = d.sendOnly(.steerEvent(generation: 1, .kl(.steered, [0.5, 0.0, 0.2, 0.4, 9], promptCount: 2)))
        XCTAssertEqual(d.state.steering?.kl, [0.0, 0.2, 0.4])
        _ = d.sendOnly(.steerFinished(generation: 1, error: nil))
        XCTAssertEqual(d.state.steering?.phase, .done)
        let text = d.render().text
        XCTAssertTrue(text.contains("first divergence at token 2"), text)
        XCTAssertTrue(text.contains("diverges at token 2"), text)
    }

    func testTokensPerRunKeys() async throws {
        var d = await promptDriver()
        await d.keys(.char("t"))
        XCTAssertEqual(d.state.steering?.maxTokens, 24)
        await d.keys(.char("]"), .char("]"))
        XCTAssertEqual(d.state.steering?.maxTokens, 40)
        XCTAssertEqual(d.state.steering?.request.maxTokens, 40)
        XCTAssertTrue(d.render().text.contains("40 tokens per run"), d.render().text)
        for _ in 0 ..< 10 { await d.keys(.char("[")) }
        XCTAssertEqual(d.state.steering?.maxTokens, 1, "never below one token")
        await d.keys(.char("]"))
        XCTAssertEqual(d.state.steering?.maxTokens, 8, "from 1 up to the next step")
        for _ in 0 ..< 40 { await d.keys(.char("]")) }
        XCTAssertEqual(d.state.steering?.maxTokens, SteeringPanelState.maxTokensLimit)
        XCTAssertEqual(SteeringPanelState.steppedMaxTokens(13, up: false), 8)
        XCTAssertEqual(SteeringPanelState.steppedMaxTokens(13, up: true), 16)
        // The run asks for what the panel shows.
        await d.keys(.char("["))
        let effects = d.sendOnly(.key(.enter))
        XCTAssertEqual(effects, [.steer(try XCTUnwrap(d.state.steering).request, generation: 1)])
        XCTAssertEqual(d.state.steering?.lastRequest?.maxTokens, 248)
    }

    func testFrozenAttentionColumn() async throws {
        var d = await promptDriver(size: Size(width: 120, height: 40))
        await d.keys(.char("t"))
        XCTAssertFalse(d.render().text.contains("attention frozen"), "two columns by default")
        await d.keys(.char("f"))
        XCTAssertEqual(d.state.steering?.freezeAttention, true)
        XCTAssertEqual(d.state.steering?.request.freezeAttention, true)
        XCTAssertTrue(d.render().text.contains("Steered, attention frozen"))
        _ = d.sendOnly(.key(.enter))
        let tok = { (id: Int32) in SteerToken(id: id, text: " w\(id)") }
        _ = d.sendOnly(.steerEvent(generation: 1, .prompt(["The", " cat"])))
        for id: Int32 in [1, 2, 3] { _ = d.sendOnly(.steerEvent(generation: 1, .token(.default, tok(id)))) }
        for id: Int32 in [1, 9, 8] { _ = d.sendOnly(.steerEvent(generation: 1, .token(.steered, tok(id)))) }
        for id: Int32 in [1, 2] { _ = d.sendOnly(.steerEvent(generation: 1, .token(.frozen, tok(id)))) }
        XCTAssertTrue(d.render().text.contains("generating frozen 2/3"), d.render().text)
        _ = d.sendOnly(.steerEvent(generation: 1, .token(.frozen, tok(7))))
        XCTAssertEqual(d.state.steering?.frozenTokens.map(\.id), [1, 2, 7])
        XCTAssertEqual(d.state.steering?.firstDivergence, 1)
        XCTAssertEqual(d.state.steering?.firstFrozenDivergence, 2)
        _ = d.sendOnly(.steerEvent(generation: 1, .kl(.steered, [0.5, 0.0, 0.2, 0.4, 9], promptCount: 2)))
        _ = d.sendOnly(.steerEvent(generation: 1, .kl(.frozen, [0.5, 0.1, 0.3, 0.6, 9], promptCount: 2)))
        XCTAssertEqual(d.state.steering?.kl, [0.0, 0.2, 0.4])
        XCTAssertEqual(d.state.steering?.frozenKL, [0.1, 0.3, 0.6])
        _ = d.sendOnly(.steerFinished(generation: 1, error: nil))
        let text = d.render().text
        XCTAssertTrue(text.contains("frozen: diverges at 3"), text)
        XCTAssertTrue(text.contains("max 0.60"), "the frozen column's KL strip: \(text)")
        // Turning it off keeps the column while it holds results; a new run without it clears them.
        await d.keys(.char("f"))
        XCTAssertTrue(d.render().text.contains("attention frozen"))
        _ = d.sendOnly(.key(.enter))
        XCTAssertEqual(d.state.steering?.frozenTokens, [])
        XCTAssertFalse(d.render().text.contains("attention frozen"))
        // Stopping during the frozen run counts its tokens.
        await d.keys(.char("f"))
        _ = d.sendOnly(.key(.enter))
        _ = d.sendOnly(.steerEvent(generation: 3, .token(.default, tok(1))))
        _ = d.sendOnly(.steerEvent(generation: 3, .token(.steered, tok(1))))
        _ = d.sendOnly(.steerEvent(generation: 3, .token(.frozen, tok(1))))
        _ = d.sendOnly(.key(.escape))
        XCTAssertTrue(d.render().text.contains("stopped after 1 + 1 + 1 tokens"), d.render().text)
    }

    func testEscStopsARunningGenerationThenCloses() async throws {
        var d = await promptDriver()
        await d.keys(.char("t"))
        _ = d.sendOnly(.key(.enter))
        _ = d.sendOnly(.steerEvent(generation: 1, .token(.default, SteerToken(id: 1, text: " a"))))
        let effects = d.sendOnly(.key(.escape))
        XCTAssertEqual(effects, [.cancelSteer])
        XCTAssertEqual(d.state.steering?.phase, .stopped)
        XCTAssertEqual(d.state.steering?.defaultTokens.count, 1, "what streamed stays")
        // The cancelled run's late events and its end change nothing.
        _ = d.sendOnly(.steerEvent(generation: 1, .token(.default, SteerToken(id: 2, text: " b"))))
        _ = d.sendOnly(.steerFinished(generation: 1, error: BrowserError("stopped")))
        XCTAssertEqual(d.state.steering?.defaultTokens.count, 1)
        XCTAssertEqual(d.state.steering?.phase, .stopped)
        XCTAssertTrue(d.render().text.contains("stopped after 1 + 0 tokens"))
        // A new run while one runs replaces it.
        let rerun = d.sendOnly(.key(.enter))
        XCTAssertEqual(rerun.count, 1)
        let again = d.sendOnly(.key(.enter))
        XCTAssertEqual(again.first, .cancelSteer)
        XCTAssertEqual(d.state.steering?.generation, 4)
        _ = d.sendOnly(.key(.escape))
        _ = d.sendOnly(.key(.escape))
        XCTAssertNil(d.state.steering)
    }

    func testWholeRunWithTheScriptedEngine() async throws {
        var d = await promptDriver(size: Size(width: 120, height: 40))
        await d.keys(.char("t"), .char("+"), .enter)
        let p = try XCTUnwrap(d.state.steering)
        XCTAssertEqual(p.phase, .done)
        XCTAssertEqual(p.promptTokens, ["The", " cat"])
        XCTAssertEqual(p.defaultTokens.count, SteeringPanelState.defaultMaxTokens)
        XCTAssertEqual(p.steeredTokens.count, SteeringPanelState.defaultMaxTokens)
        XCTAssertEqual(p.firstDivergence, ScriptedSteeringEngine.divergence(p.request))
        XCTAssertEqual(p.kl.count, p.steeredTokens.count)
        // The engine's escape sequence is drawn as a visible symbol, never emitted.
        let screen = d.render()
        XCTAssertFalse(screen.text.contains("\u{1B}"))
        XCTAssertTrue(screen.text.contains("␛[2Jclouds"), screen.text)
        // Every size down to the minimum draws without running outside the screen.
        for size in [Size(width: 80, height: 24), Size(width: 50, height: 12), Size(width: 200, height: 60)] {
            await d.send(.resize(size))
            let s = d.render()
            XCTAssertEqual(s.size, size)
            XCTAssertTrue(s.text.contains("Steering"), "\(size)")
        }
    }

    func testEnterBeforeTheUnitsArriveGeneratesWhenTheyDo() async throws {
        var d = await promptDriver()
        let focused = try XCTUnwrap(d.state.focusedLatent)
        XCTAssertEqual(d.sendOnly(.key(.char("t"))), [.loadSteerUnit(focused)])
        XCTAssertEqual(d.sendOnly(.key(.enter)), [], "nothing starts with an unknown strength unit")
        XCTAssertEqual(d.state.steering?.phase, .idle)
        let effects = d.sendOnly(.steerUnitLoaded(focused, 2))
        XCTAssertEqual(effects.count, 1)
        guard case let .steer(request, _) = effects.first else { return XCTFail("\(effects)") }
        XCTAssertEqual(request.latents.first?.strength, SteeringPanelState.defaultStrength * 2)
        XCTAssertEqual(d.state.steering?.phase, .running)
    }

    /// Without colour the first divergent token still stands out (bold + underline in every theme), and in ASCII mode
    /// every cell of the panel (bars, box, markers, the escape sequence of a token) becomes printable ASCII.
    func testDivergenceAndKLSurviveNoColorAndASCII() async throws {
        var d = await promptDriver()
        await d.keys(.char("t"), .char("+"), .enter)
        let screen = d.render()
        let marked = (0 ..< screen.size.height).flatMap { y in (0 ..< screen.size.width).map { screen[$0, y] } }
            .filter { $0.style.bold && $0.style.underline && $0.style.fg == .bad }
        XCTAssertFalse(marked.isEmpty, "the first divergent token is marked")
        for name in BuiltinThemes.names {
            let theme = try XCTUnwrap(BuiltinThemes.named(name))
            let mark = theme.resolve(marked[0].style, depth: .monochrome)
            let text = theme.resolve(Style(fg: .text, bg: .overlay), depth: .monochrome)
            XCTAssertNotEqual(mark, text, "\(name): the mark is visible without colour")
        }
        for y in 0 ..< screen.size.height {
            for x in 0 ..< screen.size.width {
                let cell = screen[x, y]
                guard !cell.text.isEmpty else { continue }
                let ascii = ASCIIFallback.map(cell.text, width: DisplayText.width(cell.text))
                XCTAssertTrue(ascii.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "\(x),\(y): \(cell.text) → \(ascii)")
            }
        }
    }

    func testUnavailableWithoutASteeringEngine() async {
        var d = Driver(latents: 50, engines: false)
        await d.keys(.down, .enter, .char("t"))
        XCTAssertNil(d.state.steering)
        XCTAssertEqual(d.state.message?.text, "steering needs the model engine, which this session has not loaded")
    }

    /// The real runtime: tokens stream into frames while the UI loop keeps drawing, and Esc cancels the engine's task.
    func testRuntimeStreamsAndEscCancelsTheEngine() throws {
        let data = SyntheticBrowserData(latentCount: 500)
        let engine = ScriptedSteeringEngine(delay: .milliseconds(15), holdAfterSteered: 3)
        let env = BrowserEnvironment(data: data, promptEngine: SyntheticPromptEngine(data: data, delay: .zero), steeringEngine: engine)
        let term = TestTerminal(size: Size(width: 100, height: 30), script: [
            .event(.key(.char("5"))), .event(.key(.char("h"))), .event(.key(.char("i"))), .event(.key(.enter)),
            .waitFor("Top latents at", timeout: .seconds(5)),
            .event(.key(.char("t"))),
            .waitFor("= +", timeout: .seconds(5)),
            .event(.key(.enter)),
            .waitFor("generating steered 3/", timeout: .seconds(10)),
            .event(.key(.escape)),
            .waitFor("stopped after", timeout: .seconds(5)),
            .event(.key(.escape)), .event(.key(.char("q"))),
        ])
        let runtime = BrowserRuntime(backend: term, environment: env)
        try runtime.run()
        let texts = term.frames.map(\.text)
        XCTAssertTrue(texts.contains { $0.contains("generating default") && !$0.contains("generating default 0/") && !$0.contains("generating default 24/") },
                      "a frame shows the default run part-way")
        XCTAssertTrue(texts.contains { $0.contains("stopped after 24 + 3 tokens") })
        XCTAssertNil(runtime.state.steering)
        // The held run ends only by cancellation.
        let deadline = Date().addingTimeInterval(5)
        while engine.cancellations == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(engine.cancellations, 1)
    }
}
