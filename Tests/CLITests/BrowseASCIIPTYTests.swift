import Foundation
import XCTest

/// The real `featurescope browse` under `LC_ALL=C` (no UTF-8, as on minimal SSH servers): the browser
/// switches to ASCII output, so the screen stays legible with box lines, arrows and markers in ASCII.
final class BrowseASCIIPTYTests: XCTestCase {
    func testBrowseDemoInACLocaleDrawsASCII() throws {
        let tmux = try Tmux.make()
        guard let bin = Tmux.binary() else {
            return XCTFail("featurescope binary not found; build it first (swift build)")
        }
        let script = "stty sane; locale charmap; '\(bin)' browse --demo 1000; echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -e '-*icanon' -e '-*echo'; sleep 60"
        try tmux.newSession(width: 120, height: 40, locale: "C", ["sh", "-c", script])
        defer { tmux.shutDown() }

        // The list: the sort arrow and the cursor marker in ASCII, and nothing but ASCII on the screen.
        var screen = try tmux.waitFor("the latent list in ASCII") { $0.contains("latent^") && $0.contains("row 1 of 1000") }
        XCTAssertTrue(screen.contains(">     #0"), screen)
        XCTAssertTrue(screen.unicodeScalars.allSatisfy(\.isASCII), "only ASCII reaches the terminal:\n\(screen)")
        try tmux.keys("r")
        // The cursor stays on latent #0, now the last row.
        screen = try tmux.waitFor("the reversed sort") { $0.contains("latentv") && $0.contains(">     #0") }
        XCTAssertTrue(screen.contains("#1 "), screen)
        try tmux.keys("r", "Home")
        screen = try tmux.waitFor("the list back in order") { $0.contains("latent^") && $0.contains(">     #0") }

        // The detail: two panes split by an ASCII rule, the selected token in ASCII quotes.
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the detail view") { $0.contains("Latent #0") && $0.contains("Top activations") }
        XCTAssertTrue(screen.contains("token \""), screen)
        let divided = screen.split(separator: "\n").filter { $0.contains(" |") }
        XCTAssertGreaterThan(divided.count, 10, "the pane divider is drawn as |:\n\(screen)")
        XCTAssertTrue(screen.unicodeScalars.allSatisfy(\.isASCII), screen)

        // The help overlay: a box of + - | around the key table.
        try tmux.keys("?")
        screen = try tmux.waitFor("the help overlay") { $0.contains("Everywhere") }
        let lines = screen.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.contains("+-") && $0.contains("Keys - ^/v scroll") }, "the box's top border:\n\(screen)")
        XCTAssertTrue(lines.contains { $0.contains("-+") && !$0.contains("Keys") }, "the box's bottom border:\n\(screen)")
        XCTAssertGreaterThan(lines.filter { $0.filter { $0 == "|" }.count >= 2 }.count, 5, "the box's sides:\n\(screen)")
        XCTAssertTrue(screen.unicodeScalars.allSatisfy(\.isASCII), screen)

        // Quit: exit status 0 and the terminal modes restored.
        try tmux.keys("Escape")
        try tmux.keys("q")
        screen = try tmux.waitFor("the exit status") { $0.contains("EXIT=") && $0.contains("icanon") }
        XCTAssertTrue(screen.contains("EXIT=0"), screen)
        XCTAssertFalse(screen.contains("UTF-8"), "the pane really runs without UTF-8 (locale charmap):\n\(screen)")
        let trimmed = Tmux.trimmedLines(screen)
        XCTAssertTrue(trimmed.contains("icanon"), screen)
        XCTAssertTrue(trimmed.contains("echo"), screen)
        XCTAssertFalse(screen.contains("latent^"), "the alternate screen is gone")
    }
}
