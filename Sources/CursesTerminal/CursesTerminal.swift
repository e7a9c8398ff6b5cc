import CNcursesw
import Foundation
import TerminalUI

/// Errors starting the curses terminal.
public enum CursesError: Error, CustomStringConvertible {
    case notATerminal
    case cannotStart(term: String)
    case pipeFailed(errno: Int32)

    public var description: String {
        switch self {
        case .notATerminal:
            return "the browser needs an interactive terminal (stdin and stdout must be a TTY)"
        case let .cannotStart(term):
            return "curses could not start on TERM='\(term)' (is TERM set to a terminal that terminfo knows?)"
        case let .pipeFailed(e):
            return "could not create the wake-up pipe (errno \(e))"
        }
    }
}

/// Wakes the curses loop by writing a zero byte to its pipe.
final class PipeWaker: Waker, @unchecked Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    func wake() {
        var b: UInt8 = 0
        _ = write(fd, &b, 1)
    }
}

/// The ncurses backend: the only place that talks to the terminal.
///
/// Raw mode (Ctrl-C and Ctrl-Z arrive as keys), keypad and mouse on, Enter distinct from Ctrl-J (`nonl`).
/// SIGTERM/SIGHUP/SIGINT are written into a self-pipe and come out as `.signal` events, so the runtime
/// quits through its normal path and the terminal is restored; crashes and `exit()` restore it too.
///
/// Terminals without UTF-8: the locale comes from the environment (`setlocale(LC_ALL, "")`). When its
/// codeset is not UTF-8 (no `LANG`, `LC_ALL=C`, or a locale that is not installed), ncursesw cannot draw
/// non-ASCII characters, so every cell goes through `ASCIIFallback` (box lines as `-|+`, the sort arrow as
/// `^`/`v`, the cursor marker as `>`). A UTF-8 locale is deliberately not forced: the terminal itself may not
/// speak UTF-8. `LANG=C.UTF-8` (or any installed UTF-8 locale) gives the full glyphs.
public final class CursesTerminal: TerminalBackend {
    public let theme: Theme
    public private(set) var depth: ColorDepth = .monochrome
    private let noColor: Bool
    private let environment: [String: String]
    private var screenPtr: OpaquePointer?
    private var previous: Screen?
    /// Gathers bracketed pastes into `.paste` events.
    private var paste = BracketedPasteDecoder()
    private var pending: [TerminalEvent] = []
    private var pipeRead: Int32 = -1
    private var pipeWrite: Int32 = -1
    private var pipeWaker: PipeWaker?
    private var pairs: [PairKey: Int32] = [:]
    private var customColors: [ColorKey: Int32] = [:]
    private var running = false
    private var cursorVisible = false
    private var canRedefinePalette = false
    /// True when the locale is not UTF-8 and cells are drawn through `ASCIIFallback` (decided in `start()`).
    public private(set) var asciiOutput = false

    struct PairKey: Hashable { var fg: TerminalColor; var bg: TerminalColor }
    struct ColorKey: Hashable { var r: UInt8; var g: UInt8; var b: UInt8 }

    /// - Parameters:
    ///   - theme: colours for the semantic roles.
    ///   - noColor: `--no-color`: attributes only (NO_COLOR in the environment does the same).
    public init(theme: Theme, noColor: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.theme = theme
        self.noColor = noColor
        self.environment = environment
    }

    public var waker: Waker { pipeWaker ?? PipeWaker(fd: -1) }

    public var size: Size {
        guard running else {
            var ws = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 {
                return Size(width: Int(ws.ws_col), height: Int(ws.ws_row))
            }
            return Size(width: 80, height: 24)
        }
        return Size(width: Int(fs_cols()), height: Int(fs_lines()))
    }

    // MARK: - Start and stop

    public func start() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw CursesError.notATerminal }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CursesError.pipeFailed(errno: errno) }
        pipeRead = fds[0]
        pipeWrite = fds[1]
        _ = fcntl(pipeRead, F_SETFL, fcntl(pipeRead, F_GETFL) | O_NONBLOCK)
        _ = fcntl(pipeWrite, F_SETFL, fcntl(pipeWrite, F_GETFL) | O_NONBLOCK)
        pipeWaker = PipeWaker(fd: pipeWrite)
        CursesSignals.install(pipeWrite: pipeWrite)
        CursesSignals.unblockOnThisThread()

        setlocale(LC_ALL, "")
        asciiOutput = !Self.localeIsUTF8()
        // newterm, not initscr: initscr exits the process on failure instead of returning.
        guard let scr = newterm(nil, fs_stdout(), fs_stdin()) else {
            CursesSignals.uninstall()
            throw CursesError.cannotStart(term: environment["TERM"] ?? "")
        }
        screenPtr = scr
        set_term(scr)
        running = true
        CursesSignals.active = true
        raw()
        noecho()
        nonl()
        keypad(fs_stdscr(), true)
        nodelay(fs_stdscr(), true)
        set_escdelay(25)
        _ = curs_set(0)
        let buttons: UInt = (CursesConstants.button1Pressed | CursesConstants.button1Clicked
                            | CursesConstants.button4Pressed | CursesConstants.button5Pressed)
        _ = mousemask(mmask_t(buttons), nil)
        _ = mouseinterval(0)
        setUpColor()
        previous = nil
        Self.emit(BracketedPasteDecoder.enable)
    }

    /// Writes a mode-switching escape sequence straight to the terminal.
    private static func emit(_ sequence: String) {
        var bytes = Array(sequence.utf8)
        _ = write(STDOUT_FILENO, &bytes, bytes.count)
    }

    /// True when the current LC_CTYPE codeset is UTF-8 (call after `setlocale`).
    static func localeIsUTF8() -> Bool {
        guard let codeset = fs_locale_codeset() else { return false }
        return ASCIIFallback.isUTF8(codeset: String(cString: codeset))
    }

    private func setUpColor() {
        var colors = 0
        if has_colors() {
            start_color()
            _ = use_default_colors()
            colors = Int(fs_colors())
        }
        depth = ColorDepth.detect(environment: environment, terminalColors: colors, noColor: noColor)
        // Truecolor needs a direct-colour terminfo (TERM=*-direct), or a palette we may redefine
        // (init_extended_color). Multiplexers do not pass palette changes through reliably: use 256 there.
        let term = environment["TERM"] ?? ""
        let multiplexed = environment["TMUX"] != nil || term.hasPrefix("screen") || term.hasPrefix("tmux")
        canRedefinePalette = can_change_color() && colors >= 256 && !multiplexed
        if depth == .truecolor && colors < 0x100_0000 && !canRedefinePalette {
            depth = colors >= 256 ? .xterm256 : .ansi8
        }
        pairs = [:]
        customColors = [:]
    }

    public func stop() {
        guard running else { return }
        running = false
        CursesSignals.active = false
        Self.emit(BracketedPasteDecoder.disable)
        _ = curs_set(1)
        endwin()
        if let scr = screenPtr { delscreen(scr) }
        screenPtr = nil
        CursesSignals.uninstall()
        if pipeRead >= 0 { close(pipeRead) }
        if pipeWrite >= 0 { close(pipeWrite) }
        pipeRead = -1
        pipeWrite = -1
    }

    public func suspend() {
        guard running else { return }
        CursesSignals.active = false
        Self.emit(BracketedPasteDecoder.disable)
        endwin()
        CursesSignals.stopSelf()
        // Resumed (fg): take the terminal back and redraw everything.
        CursesSignals.active = true
        refresh()
        Self.emit(BracketedPasteDecoder.enable)
        previous = nil
    }

    // MARK: - Input

    public func nextEvent(timeout: Duration?) -> TerminalEvent? {
        if !pending.isEmpty { return pending.removeFirst() }
        readInput()
        if !pending.isEmpty { return pending.removeFirst() }
        var pfd = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: pipeRead, events: Int16(POLLIN), revents: 0)]
        let ms: Int32 = timeout.map { Int32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? -1
        let r = poll(&pfd, 2, ms)
        var woke = false
        if r > 0 && pfd[1].revents != 0 {
            var buf = [UInt8](repeating: 0, count: 64)
            let n = read(pipeRead, &buf, buf.count)
            if n > 0 {
                for b in buf[0..<n] where b != 0 {
                    if Int32(b) == SIGWINCH { pending.append(resized()) } else { pending.append(.signal(Int32(b))) }
                }
                woke = true
            }
        }
        // poll may also return early for SIGWINCH; curses then reports KEY_RESIZE.
        readInput()
        if !pending.isEmpty { return pending.removeFirst() }
        return woke ? .wake : nil
    }

    /// Tells curses the terminal's new size (read from the tty) and reports it.
    private func resized() -> TerminalEvent {
        var ws = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 {
            _ = resizeterm(Int32(ws.ws_row), Int32(ws.ws_col))
        }
        previous = nil
        return .resize(Size(width: Int(fs_cols()), height: Int(fs_lines())))
    }

    /// Moves everything curses has buffered into `pending`, in order.
    private func readInput() {
        var events: [TerminalEvent] = []
        while events.count < 256 {
            var ch: wint_t = 0
            let r = wget_wch(fs_stdscr(), &ch)
            if r == ERR { break }
            if r == KEY_CODE_YES {
                if let e = functionKey(Int32(ch)) { events += paste.feed(e) }
            } else if let e = CursesKeys.character(UInt32(ch)) {
                events += paste.feed(.key(e))
            }
        }
        pending += events + paste.endOfInput()
    }

    private func functionKey(_ code: Int32) -> TerminalEvent? {
        if code == KEY_RESIZE {
            previous = nil
            return .resize(Size(width: Int(fs_cols()), height: Int(fs_lines())))
        }
        if code == KEY_MOUSE {
            var ev = MEVENT()
            guard getmouse(&ev) == OK else { return nil }
            let state = UInt(ev.bstate)
            let x = Int(ev.x), y = Int(ev.y)
            if state & CursesConstants.button4Pressed != 0 { return .mouse(MouseEvent(kind: .wheelUp, x: x, y: y)) }
            if state & CursesConstants.button5Pressed != 0 { return .mouse(MouseEvent(kind: .wheelDown, x: x, y: y)) }
            if state & (CursesConstants.button1Pressed | CursesConstants.button1Clicked) != 0 {
                return .mouse(MouseEvent(kind: .press, x: x, y: y))
            }
            return nil
        }
        return CursesKeys.function(code).map { .key($0) }
    }

    // MARK: - Output

    public func draw(_ screen: Screen) {
        guard running else { return }
        let w = screen.size.width, h = screen.size.height
        let full = previous == nil || previous?.size != screen.size
        // After a resize or resume the terminal may not hold what curses believes: clear and repaint all.
        if full { clear() }
        for y in 0..<min(h, Int(fs_lines())) {
            for x in 0..<min(w, Int(fs_cols())) {
                let cell = screen[x, y]
                if !full, let p = previous, p[x, y] == cell { continue }
                if cell.isContinuation { continue }
                apply(cell.style)
                _ = move(Int32(y), Int32(x))
                // The bottom-right cell cannot be written without scrolling on some terminals: skip errors.
                _ = addstr(asciiOutput ? ASCIIFallback.map(cell.text, width: ASCIIFallback.cellWidth(in: screen, x: x, y: y))
                                       : cell.text)
            }
        }
        if let c = screen.cursor {
            if !cursorVisible { _ = curs_set(1); cursorVisible = true }
            _ = move(Int32(c.y), Int32(c.x))
        } else if cursorVisible {
            _ = curs_set(0)
            cursorVisible = false
        }
        refresh()
        previous = screen
    }

    private func apply(_ style: Style) {
        let r = theme.resolve(style, depth: depth)
        var attrs: UInt = 0
        if r.bold { attrs |= CursesConstants.bold }
        if r.underline { attrs |= CursesConstants.underline }
        if r.reverse { attrs |= CursesConstants.reverse }
        var pair = depth == .monochrome ? 0 : pairNumber(fg: r.fg, bg: r.bg)
        _ = attr_set(attr_t(attrs), Int16(truncatingIfNeeded: min(pair, 0x7FFF)), &pair)
    }

    private func pairNumber(fg: TerminalColor, bg: TerminalColor) -> Int32 {
        if fg == .terminalDefault && bg == .terminalDefault { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        let n = Int32(pairs.count + 1)
        guard n < fs_color_pairs() else { return 0 }
        _ = init_extended_pair(n, colorNumber(fg), colorNumber(bg))
        pairs[key] = n
        return n
    }

    private func colorNumber(_ c: TerminalColor) -> Int32 {
        switch c {
        case .terminalDefault: return -1
        case let .index(i): return Int32(i)
        case let .rgb(r, g, b):
            if fs_colors() >= 0x100_0000 { return Int32(r) << 16 | Int32(g) << 8 | Int32(b) }
            // A palette terminal that can redefine colours: use slots 16… for the theme's colours.
            guard canRedefinePalette else { return Int32(Theme.nearest256(r, g, b)) }
            let key = ColorKey(r: r, g: g, b: b)
            if let n = customColors[key] { return n }
            let n = Int32(16 + customColors.count)
            guard n < fs_colors(), n < 256 else { return Int32(Theme.nearest256(r, g, b)) }
            _ = init_extended_color(n, Int32(r) * 1000 / 255, Int32(g) * 1000 / 255, Int32(b) * 1000 / 255)
            customColors[key] = n
            return n
        }
    }
}
