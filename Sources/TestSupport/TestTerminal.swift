import Foundation
import TerminalUI

/// A scripted terminal for tests: feeds events, records frames, never touches a real TTY.
public final class TestTerminal: TerminalBackend {
    /// One step of a script.
    public enum Step: Sendable {
        case event(TerminalEvent)
        /// Waits (up to `timeout`) until the last frame contains `text`.
        case waitFor(String, timeout: Duration)
    }

    public private(set) var size: Size
    public private(set) var frames: [Screen] = []
    public private(set) var started = false
    public private(set) var stopped = false
    public private(set) var suspended = 0
    private var script: [Step]
    private var waitDeadline: ContinuousClock.Instant?
    private let semaphoreWaker = SemaphoreWaker()
    public var waker: Waker { semaphoreWaker }

    public init(size: Size, script: [Step]) {
        self.size = size
        self.script = script
    }

    public func start() throws { started = true }
    public func stop() { stopped = true }
    public func draw(_ screen: Screen) { frames.append(screen) }
    public func suspend() { suspended += 1 }
    public var lastFrame: Screen? { frames.last }

    public func nextEvent(timeout: Duration?) -> TerminalEvent? {
        guard !script.isEmpty else {
            // Script exhausted: end the session.
            return .key(.char("q"))
        }
        switch script[0] {
        case let .event(e):
            script.removeFirst()
            if case let .resize(s) = e { size = s }
            return e
        case let .waitFor(text, limit):
            if let f = frames.last, f.text.contains(text) {
                script.removeFirst()
                waitDeadline = nil
                return .wake
            }
            let now = ContinuousClock.now
            if waitDeadline == nil { waitDeadline = now + limit }
            if let d = waitDeadline, now > d {
                script.removeFirst()
                waitDeadline = nil
                return .wake
            }
            return semaphoreWaker.semaphore.wait(timeout: .now() + .milliseconds(20)) == .success ? .wake : nil
        }
    }
}

/// A waker that signals a semaphore (for the test backend).
public final class SemaphoreWaker: Waker, @unchecked Sendable {
    let semaphore = DispatchSemaphore(value: 0)
    public init() {}
    public func wake() { semaphore.signal() }
}
