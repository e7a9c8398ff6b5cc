import Foundation
import XCTest

/// Drives the real `featurescope browse` binary in a pseudo-terminal (tmux): open, navigate, search,
/// resize, quit — and checks the exit status and that the terminal modes were restored. The panes run under
/// a UTF-8 locale whatever the CI's environment (see `Tmux`); `BrowseASCIIPTYTests` covers `LC_ALL=C`.
final class BrowsePTYTests: XCTestCase {
    func testBrowseDemoEndToEndInATerminal() throws {
        let tmux = try Tmux.make()
        guard let bin = Tmux.binary() else {
            return XCTFail("featurescope binary not found; build it first (swift build)")
        }
        let script = "stty sane; '\(bin)' browse --demo 1000; echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -e '-*icanon' -e '-*echo'; sleep 60"
        try tmux.newSession(width: 100, height: 30, ["sh", "-c", script])
        defer { tmux.shutDown() }

        // Open: the list with its header, first row selected.
        var screen = try tmux.waitFor("the latent list") { $0.contains("latent▲") && $0.contains("row 1 of 1000") }
        XCTAssertTrue(screen.contains("1 Latents"))
        XCTAssertTrue(screen.contains("▶     #0"), screen)

        // Navigate.
        try tmux.keys("j", "j", "Down")
        screen = try tmux.waitFor("the cursor on row 4") { $0.contains("row 4 of 1000") }
        XCTAssertTrue(screen.contains("▶     #3"), screen)

        // Search (incremental), accept.
        try tmux.keys("/")
        try tmux.literal("python")
        screen = try tmux.waitFor("search results") { $0.contains("/python") && $0.contains("matches") }
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the accepted search") { $0.contains("search: python") || $0.contains("search “python”") }
        let rows = screen.split(separator: "\n").filter { $0.contains("#") && !$0.contains("latent▲") }
        XCTAssertFalse(rows.isEmpty)
        for r in rows where r.contains("Python") == false && r.contains("python") == false {
            XCTAssertTrue(r.contains("top:"), "a row that matches neither explanation nor top tokens: \(r)")
        }

        // Open the detail.
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the detail view") { $0.contains("Explanation") && $0.contains("Top activations") }
        XCTAssertTrue(screen.contains("token “"), screen)

        // Resize smaller, too small, and back.
        try tmux.run(["resize-window", "-t", "t", "-x", "80", "-y", "24"])
        screen = try tmux.waitFor("the 80×24 layout") { s in
            s.contains("Latent #") && s.split(separator: "\n", omittingEmptySubsequences: false).count <= 25
        }
        try tmux.run(["resize-window", "-t", "t", "-x", "40", "-y", "10"])
        screen = try tmux.waitFor("the too-small screen") { $0.contains("Terminal too small") }
        try tmux.run(["resize-window", "-t", "t", "-x", "120", "-y", "40"])
        screen = try tmux.waitFor("the wide layout") { $0.contains("Latent #") && $0.contains("│") }

        // Help overlay, then back to the list and quit.
        try tmux.keys("?")
        screen = try tmux.waitFor("the help overlay") { $0.contains("Everywhere") }
        try tmux.keys("Escape")
        try tmux.keys("1")
        screen = try tmux.waitFor("the list again") { $0.contains("latent▲") }
        try tmux.keys("q")
        screen = try tmux.waitFor("the exit status") { $0.contains("EXIT=") }
        XCTAssertTrue(screen.contains("EXIT=0"), screen)
        // Terminal modes restored: canonical input and echo are on again.
        screen = try tmux.waitFor("stty output") { $0.contains("icanon") }
        let lines = Tmux.trimmedLines(screen)
        XCTAssertTrue(lines.contains("icanon"), screen)
        XCTAssertTrue(lines.contains("echo"), screen)
        XCTAssertFalse(screen.contains("latent▲"), "the alternate screen is gone")
    }

    func testSigtermAndSighupRestoreTheTerminal() throws {
        guard let bin = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        for (name, number) in [("TERM", 15), ("HUP", 1)] {
            let tmux = try Tmux.make()
            let script = "stty sane; '\(bin)' browse --demo 50 </dev/tty >/dev/tty 2>&1 & pid=$!; sleep 1.5; kill -\(name) $pid; wait $pid; echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -e '-*icanon' -e '-*echo'; sleep 60"
            try tmux.newSession(width: 90, height: 25, ["sh", "-c", script])
            defer { tmux.shutDown() }
            let screen = try tmux.waitFor("the exit after SIG\(name)") { $0.contains("EXIT=") && $0.contains("icanon") }
            XCTAssertTrue(screen.contains("EXIT=\(128 + number)"), screen)
            let lines = Tmux.trimmedLines(screen)
            XCTAssertTrue(lines.contains("icanon"), "SIG\(name): " + screen)
            XCTAssertTrue(lines.contains("echo"), "SIG\(name): " + screen)
            XCTAssertFalse(screen.contains("latent▲"), "SIG\(name): the alternate screen is gone")
        }
    }

    func testCtrlZSuspendsAndFgResumes() throws {
        guard let bin = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        guard let bash = Tmux.findExecutable("bash") else { throw XCTSkip("bash (for job control) is not installed") }
        let tmux = try Tmux.make()
        try tmux.newSession(width: 90, height: 25, [bash, "--norc", "--noprofile", "-i"])
        defer { tmux.shutDown() }
        // Type only once bash shows its first prompt (keys sent earlier are echoed before the prompt).
        _ = try tmux.waitFor("the shell's first prompt") { $0.contains("bash-") }
        try tmux.literal("'\(bin)' browse --demo 200")
        try tmux.keys("Enter")
        _ = try tmux.waitFor("the list") { $0.contains("row 1 of 200") }
        try tmux.keys("j", "C-z")
        var screen = try tmux.waitFor("the job to stop") { $0.contains("Stopped") }
        XCTAssertFalse(screen.contains("latent▲"), "the shell's screen is back while suspended")
        try tmux.literal("fg")
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the browser to come back") { $0.contains("row 2 of 200") }
        try tmux.keys("q")
        // Type only once bash prints its third prompt (after the command and `fg`): keys sent while the
        // browser still runs would reach it, not the shell.
        _ = try tmux.waitFor("the shell's prompt after quitting") { s in
            s.components(separatedBy: "bash-").count - 1 >= 3
        }
        try tmux.literal("echo EXIT=$?")
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the exit status") { $0.contains("EXIT=0") }
    }
}
