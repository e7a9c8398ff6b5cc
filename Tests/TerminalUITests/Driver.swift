import Foundation
import TestSupport
import XCTest
@testable import TerminalUI

/// Collects messages sent by effects.
final class MsgBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Msg] = []
    func append(_ m: Msg) { lock.withLock { items.append(m) } }
    var messages: [Msg] { lock.withLock { items } }
}

/// Drives `Update.update` like the runtime does, but performs effects inline so tests are deterministic.
struct Driver {
    var state: AppState
    let env: BrowserEnvironment
    var effectsSeen: [Effect] = []

    init(latents: Int = 1000, size: Size = Size(width: 80, height: 24), engines: Bool = true) {
        let data = SyntheticBrowserData(latentCount: latents)
        env = BrowserEnvironment(data: data,
                                 promptEngine: engines ? SyntheticPromptEngine(data: data, delay: .zero) : nil,
                                 actionRunner: engines ? SyntheticActionRunner(data: data, stepDelay: .zero) : nil,
                                 steeringEngine: engines ? ScriptedSteeringEngine() : nil)
        state = env.initialState(size: size)
        _ = Update.start(&state)
    }

    /// A driver over any data source (no engines).
    init(data: BrowserDataSource, size: Size = Size(width: 80, height: 24)) {
        env = BrowserEnvironment(data: data)
        state = env.initialState(size: size)
        _ = Update.start(&state)
    }

    var data: SyntheticBrowserData { env.data as! SyntheticBrowserData }

    /// Applies a message and everything its effects send back.
    mutating func send(_ m: Msg) async {
        var queue = [m]
        var guardCount = 0
        while !queue.isEmpty, guardCount < 1000 {
            guardCount += 1
            let msg = queue.removeFirst()
            let effects = Update.update(&state, msg)
            effectsSeen += effects
            for e in effects {
                let box = MsgBox()
                await EffectPerformer.perform(e, env: env) { box.append($0) }
                queue += box.messages
            }
        }
    }

    mutating func keys(_ ks: Key...) async { for k in ks { await send(.key(k)) } }
    mutating func type(_ text: String) async { for c in text { await send(.key(.char(c))) } }

    /// Applies a message without performing its effects; returns them.
    mutating func sendOnly(_ m: Msg) -> [Effect] { Update.update(&state, m) }

    func render() -> Screen { Render.frame(state, data: env.data) }
}
