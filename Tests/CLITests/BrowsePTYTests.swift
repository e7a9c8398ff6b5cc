import Foundation
import XCTest

/// Drives the real `featurescope browse` binary in a pseudo-terminal (tmux): open, navigate, search,
/// resize, quit — and checks the exit status and that the terminal modes were restored.
final class BrowsePTYTests: XCTestCase {
    /// A private tmux server, so the test never touches a user's sessions.
    struct Tmux {
        let socket = "fs-pty-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let tmuxPath: String
        /// An explicit socket path (-S) that `removeSocket()` deletes, so runs leave nothing in /tmp/tmux-UID.
        var socketPath: String { NSTemporaryDirectory() + socket + ".sock" }

        /// Stops the server and deletes its socket.
        func shutDown() {
            _ = try? run(["kill-server"])
            try? FileManager.default.removeItem(atPath: socketPath)
        }

        @discardableResult
        func run(_ args: [String]) throws -> String {
            // posix_spawn + waitpid, output to a file: the tmux server forked by new-session keeps inherited
            // descriptors open, which stalls pipe-based readers.
            let outPath = NSTemporaryDirectory() + "\(socket)-\(UUID().uuidString).out"
            defer { try? FileManager.default.removeItem(atPath: outPath) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            let argv = [tmuxPath, "-S", socketPath, "-f", "/dev/null"] + args
            var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
            defer { for a in cargs { free(a) } }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, tmuxPath, &actions, nil, &cargs, environ)
            guard rc == 0 else { throw NSError(domain: "tmux", code: Int(rc)) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        }

        func capture() throws -> String { try run(["capture-pane", "-p", "-t", "t"]) }

        /// Polls the pane until `predicate` holds (or fails after `seconds`).
        func waitFor(_ what: String, seconds: Double = 15, file: StaticString = #filePath, line: UInt = #line,
                     _ predicate: (String) -> Bool) throws -> String {
            let deadline = Date().addingTimeInterval(seconds)
            var last = ""
            while Date() < deadline {
                last = try capture()
                if predicate(last) { return last }
                usleep(50_000)
            }
            XCTFail("timed out waiting for \(what); screen was:\n\(last)", file: file, line: line)
            return last
        }

        func keys(_ k: String...) throws { try run(["send-keys", "-t", "t"] + k) }
        func literal(_ text: String) throws { try run(["send-keys", "-t", "t", "-l", text]) }
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The built `featurescope` next to this test bundle, else .build/debug in the package.
    static func binary() -> String? {
        var candidates: [String] = []
        let bundleDir = Bundle.main.bundleURL
        candidates.append(bundleDir.appendingPathComponent("featurescope").path)
        candidates.append(bundleDir.deletingLastPathComponent().appendingPathComponent("featurescope").path)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/featurescope").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func testBrowseDemoEndToEndInATerminal() throws {
        guard let tmuxPath = Self.findExecutable("tmux") else { throw XCTSkip("tmux is not installed") }
        guard let bin = Self.binary() else {
            return XCTFail("featurescope binary not found; build it first (swift build)")
        }
        let tmux = Tmux(tmuxPath: tmuxPath)
        let script = "stty sane; '\(bin)' browse --demo 1000; echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -e '-*icanon' -e '-*echo'; sleep 60"
        try tmux.run(["new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "sh", "-c", script])
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
        let lines = screen.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(lines.contains("icanon"), screen)
        XCTAssertTrue(lines.contains("echo"), screen)
        XCTAssertFalse(screen.contains("latent▲"), "the alternate screen is gone")
    }

    func testSigtermAndSighupRestoreTheTerminal() throws {
        guard let tmuxPath = Self.findExecutable("tmux") else { throw XCTSkip("tmux is not installed") }
        guard let bin = Self.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        for (name, number) in [("TERM", 15), ("HUP", 1)] {
            let tmux = Tmux(tmuxPath: tmuxPath)
            let script = "stty sane; '\(bin)' browse --demo 50 </dev/tty >/dev/tty 2>&1 & pid=$!; sleep 1.5; kill -\(name) $pid; wait $pid; echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -x -e '-*icanon' -e '-*echo'; sleep 60"
            try tmux.run(["new-session", "-d", "-s", "t", "-x", "90", "-y", "25", "sh", "-c", script])
            defer { tmux.shutDown() }
            let screen = try tmux.waitFor("the exit after SIG\(name)") { $0.contains("EXIT=") && $0.contains("icanon") }
            XCTAssertTrue(screen.contains("EXIT=\(128 + number)"), screen)
            let lines = screen.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertTrue(lines.contains("icanon"), "SIG\(name): " + screen)
            XCTAssertTrue(lines.contains("echo"), "SIG\(name): " + screen)
            XCTAssertFalse(screen.contains("latent▲"), "SIG\(name): the alternate screen is gone")
        }
    }

    func testCtrlZSuspendsAndFgResumes() throws {
        guard let tmuxPath = Self.findExecutable("tmux") else { throw XCTSkip("tmux is not installed") }
        guard let bin = Self.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        guard let bash = Self.findExecutable("bash") else { throw XCTSkip("bash (for job control) is not installed") }
        let tmux = Tmux(tmuxPath: tmuxPath)
        try tmux.run(["new-session", "-d", "-s", "t", "-x", "90", "-y", "25", bash, "--norc", "--noprofile", "-i"])
        defer { tmux.shutDown() }
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
        try tmux.literal("echo EXIT=$?")
        try tmux.keys("Enter")
        screen = try tmux.waitFor("the exit status") { $0.contains("EXIT=0") }
    }
}
