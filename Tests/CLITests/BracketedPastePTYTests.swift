import Foundation
import XCTest

/// Bracketed paste in a real terminal (issue 16): tmux's `paste-buffer -p` brackets the text only when
/// the program switched mode 2004 on, so this checks the mode, the decoding and the text fields.
final class BracketedPastePTYTests: XCTestCase {
    func testPastedEscapeAndCommandKeysStayText() throws {
        let tmux = try Tmux.make()
        guard let bin = Tmux.binary() else {
            return XCTFail("featurescope binary not found; build it first (swift build)")
        }
        let script = "stty sane; '\(bin)' browse --demo 1000; echo \"EXIT=$?\"; sleep 60"
        try tmux.newSession(width: 100, height: 30, ["sh", "-c", script])
        defer { tmux.shutDown() }
        _ = try tmux.waitFor("the latent list") { $0.contains("latent▲") && $0.contains("row 1 of 1000") }

        // Outside a text field a paste runs no commands ('q' would quit, '5' switch views).
        try tmux.run(["set-buffer", "q5"])
        try tmux.run(["paste-buffer", "-p", "-t", "t"])
        var screen = try tmux.waitFor("the ignored paste") { $0.contains("paste ignored") }
        XCTAssertTrue(screen.contains("latent▲"), screen)

        // In the search field an Esc inside the paste neither closes the field nor leaks keys.
        try tmux.keys("/")
        try tmux.run(["set-buffer", "pyt\u{1B}hon"])
        try tmux.run(["paste-buffer", "-p", "-t", "t"])
        screen = try tmux.waitFor("the pasted search") { $0.contains("/python") }
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the accepted search") { $0.contains("python") && !$0.contains("/python") }
        try tmux.keys("q")
        screen = try tmux.waitFor("the exit status") { $0.contains("EXIT=") }
        XCTAssertTrue(screen.contains("EXIT=0"), screen)
    }
}
