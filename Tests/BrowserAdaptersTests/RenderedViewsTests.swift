import Foundation
import LatentCache
import TerminalUI
import TestSupport
import XCTest
@testable import BrowserAdapters

/// Collects messages sent by effects.
final class MessageBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Msg] = []
    func append(_ m: Msg) { lock.withLock { items.append(m) } }
    var messages: [Msg] { lock.withLock { items } }
}

/// Runs the browser's update loop over real adapters, performing effects inline.
struct Session {
    var state: AppState
    let env: BrowserEnvironment

    init(data: BrowserDataSource, size: Size = Size(width: 120, height: 40)) async {
        env = BrowserEnvironment(data: data)
        state = env.initialState(size: size)
        let effects = Update.start(&state)
        for e in effects { await perform(e) }
    }

    mutating func perform(_ e: Effect) async {
        let box = MessageBox()
        await EffectPerformer.perform(e, env: env) { box.append($0) }
        for m in box.messages { await send(m) }
    }

    mutating func send(_ m: Msg) async {
        let effects = Update.update(&state, m)
        for e in effects { await perform(e) }
    }

    mutating func keys(_ ks: Key...) async { for k in ks { await send(.key(k)) } }

    var screen: String { Render.frame(state, data: env.data).text }
}

final class RenderedViewsTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("render") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testListDetailAndSamplesShowCacheContent() async throws {
        let path = try CacheFixtures.build(at: root)
        let data = try CacheBrowserData(path: path)
        try CacheFixtures.annotate(data.cache, latent: 0, explanation: "Tokens whose id ends in zero")
        var s = await Session(data: data)
        let list = s.screen
        XCTAssertTrue(list.contains("Tokens whose id ends in zero"), list)
        XCTAssertTrue(list.contains("0.88"), list)  // detection balanced accuracy 0.875
        await s.keys(.enter)
        let detail = s.screen
        XCTAssertTrue(detail.contains("Tokens whose id ends in zero"), detail)
        XCTAssertTrue(detail.contains("fixture-llm"), detail)
        XCTAssertTrue(detail.contains("w10") || detail.contains("w20") || detail.contains("w30"), detail)
        await s.keys(.char("3"))
        let samples = s.screen
        XCTAssertTrue(samples.contains("detection"), samples)
        XCTAssertTrue(samples.contains(" a b c") || samples.contains("a b c") || samples.contains("a·b·c"), samples)
    }

    func testMaliciousCacheRendersSafely() async throws {
        var vocab = (0 ..< 60).map { Array(" w\($0)".utf8) }
        vocab[3] = Array("\u{1B}[2J\u{1B}]0;pwned\u{07}".utf8)  // clear screen + set title
        vocab[13] = [0xFF, 0xFE, 0xC3, 0x28, 0x41]                // invalid UTF-8
        vocab[23] = Array(String(repeating: "ab\u{9B}", count: 3400).utf8)  // > 10,000 characters with C1 CSI
        vocab[33] = Array("\r\n\t\u{0}\u{7F}\u{202E}evil".utf8)
        let path = try CacheFixtures.build(at: root, vocabulary: vocab)
        let data = try CacheBrowserData(path: path)
        try data.cache.parts[0].appendAnnotation(Annotation(kind: .explanation, latent: 3, method: "x", model: "\u{1B}[31mred",
                                                            text: "evil \u{1B}[1;1H\u{1B}P explanation"))
        for size in [Size(width: 80, height: 24), Size(width: 200, height: 50)] {
            var s = await Session(data: data, size: size)
            await s.keys(.down, .down, .down, .enter)
            for view in ["1", "2", "3", "4"] {
                await s.keys(.char(Character(view)))
                let screen = Render.frame(s.state, data: data)
                for y in 0 ..< size.height {
                    let row = screen.rowText(y)
                    XCTAssertFalse(row.unicodeScalars.contains { $0.value < 0x20 || (0x7F ... 0x9F).contains($0.value) },
                                   "control character on row \(y) of view \(view): \(row.debugDescription)")
                }
            }
        }
        // The raw strings reach the port unchanged (sanitising is the view's job).
        let d = try data.detail(part: 0, latent: 3)
        let shown = d.windowGroups.flatMap(\.windows).flatMap(\.tokens)
        XCTAssertTrue(shown.contains { $0.contains("\u{1B}") } || shown.contains { $0.count > 10_000 } || shown.contains { $0.contains("\u{FFFD}") })
        XCTAssertEqual(d.explanations.first?.model, "\u{1B}[31mred")
    }
}
