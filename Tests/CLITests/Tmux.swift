import Foundation
import XCTest

/// A private tmux server driving `featurescope` in a pseudo-terminal, so tests never touch a user's sessions.
///
/// Deterministic whatever the machine's environment: every tmux client runs with `-u` and an explicit
/// environment (PATH, HOME, TMPDIR and a UTF-8 `LANG`/`LC_ALL`), and each session gets its locale with
/// `new-session -e`, so the program under test sees exactly the locale a test asks for.
struct Tmux {
    let socket = "fs-pty-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let tmuxPath: String
    /// The UTF-8 locale the tmux clients (and, unless a test says otherwise, the panes) run under.
    let utf8Locale: String
    /// How long `waitFor` polls before failing (CI machines are slow).
    static let waitSeconds: Double = 30

    /// An explicit socket path (-S) that `shutDown()` deletes, so runs leave nothing in /tmp/tmux-UID.
    var socketPath: String { NSTemporaryDirectory() + socket + ".sock" }

    /// A tmux on PATH and an installed UTF-8 locale, or a skip that says which is missing.
    static func make() throws -> Tmux {
        guard let path = findExecutable("tmux") else { throw XCTSkip("tmux is not installed") }
        guard let locale = installedUTF8Locale() else { throw XCTSkip("no UTF-8 locale (C.UTF-8, en_US.UTF-8) is installed") }
        return Tmux(tmuxPath: path, utf8Locale: locale)
    }

    /// The first UTF-8 locale that this machine's C library can load.
    static func installedUTF8Locale() -> String? {
        for name in ["C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"] {
            if let loc = newlocale(1 << LC_CTYPE, name, nil) {
                freelocale(loc)
                return name
            }
        }
        return nil
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

    /// The environment of every tmux client this test spawns (the first one also starts the server,
    /// whose global environment the panes inherit).
    var clientEnvironment: [String] {
        let env = ProcessInfo.processInfo.environment
        var out = ["PATH=\(env["PATH"] ?? "/usr/bin:/bin")", "LANG=\(utf8Locale)", "LC_ALL=\(utf8Locale)"]
        for key in ["HOME", "TMPDIR", "USER", "LOGNAME"] { if let v = env[key] { out.append("\(key)=\(v)") } }
        return out
    }

    /// Starts session "t" of `width`×`height` running `command`, with `LANG` and `LC_ALL` set to
    /// `locale` (default: the UTF-8 locale) inside it.
    func newSession(width: Int, height: Int, locale: String? = nil, _ command: [String]) throws {
        let loc = locale ?? utf8Locale
        try run(["new-session", "-d", "-s", "t", "-x", "\(width)", "-y", "\(height)",
                 "-e", "LANG=\(loc)", "-e", "LC_ALL=\(loc)"] + command)
    }

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
        let argv = [tmuxPath, "-u", "-S", socketPath, "-f", "/dev/null"] + args
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var cenv: [UnsafeMutablePointer<CChar>?] = clientEnvironment.map { strdup($0) } + [nil]
        defer { for e in cenv { free(e) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, tmuxPath, &actions, nil, &cargs, &cenv)
        guard rc == 0 else { throw NSError(domain: "tmux", code: Int(rc)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    func capture() throws -> String { try run(["capture-pane", "-p", "-t", "t"]) }

    /// Polls the pane until `predicate` holds (or fails after `seconds`).
    func waitFor(_ what: String, seconds: Double = Tmux.waitSeconds, file: StaticString = #filePath, line: UInt = #line,
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

    /// The lines of `screen` with surrounding spaces removed (for `stty` output).
    static func trimmedLines(_ screen: String) -> [String] {
        screen.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
