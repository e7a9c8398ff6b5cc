import Foundation
import TerminalUI

/// Opens the browser in the real terminal: the one call the `browse` command (and cache adapters) need.
public enum CursesBrowser {
    /// Runs until the user quits. Returns the signal that ended the session, if one did
    /// (the caller should exit with 128 + signal). The terminal is restored before this returns or throws.
    public static func run(environment: BrowserEnvironment, theme: Theme, noColor: Bool) async throws -> Int32? {
        // The loop blocks in poll(); give it its own thread so Swift's cooperative pool stays free for effects.
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32?, Error>) in
            let thread = Thread {
                let backend = CursesTerminal(theme: theme, noColor: noColor)
                let runtime = BrowserRuntime(backend: backend, environment: environment)
                do {
                    try runtime.run()
                    c.resume(returning: runtime.exitSignal)
                } catch {
                    c.resume(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
