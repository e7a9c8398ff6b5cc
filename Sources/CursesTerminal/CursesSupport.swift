import CNcursesw
import Foundation
import TerminalUI

/// ncurses constants defined by function-like macros, read through the shim's accessors.
enum CursesConstants {
    static let underline = UInt(fs_a_underline())
    static let reverse = UInt(fs_a_reverse())
    static let bold = UInt(fs_a_bold())
    static let button1Pressed = UInt(fs_button1_pressed())
    static let button1Clicked = UInt(fs_button1_clicked())
    static let button4Pressed = UInt(fs_button4_pressed())
    static let button5Pressed = UInt(fs_button5_pressed())
}

/// Decodes curses key codes into `Key`.
enum CursesKeys {
    static func character(_ c: UInt32) -> Key? {
        switch c {
        case 13: return .enter
        case 9: return .tab
        case 27: return .escape
        case 127, 8: return .backspace
        case 10: return .ctrl("j")
        case 1...26:
            guard let s = Unicode.Scalar(c + 96) else { return nil }
            return .ctrl(Character(s))
        case 0, 28...31: return nil
        default:
            guard let s = Unicode.Scalar(c) else { return nil }
            return .char(Character(s))
        }
    }

    static func function(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case KEY_F0 + 1...KEY_F0 + 12: return .function(Int(code - KEY_F0))
        default: return nil
        }
    }
}

nonisolated(unsafe) private var signalPipe: Int32 = -1
nonisolated(unsafe) private var cursesActiveFlag: Int32 = 0
nonisolated(unsafe) private var atexitRegistered = false

/// Signal handling for the curses session: terminating signals become events, crashes restore the terminal.
enum CursesSignals {
    /// True while curses owns the terminal (read by the crash and exit handlers).
    static var active: Bool {
        get { cursesActiveFlag != 0 }
        set { cursesActiveFlag = newValue ? 1 : 0 }
    }

    static let terminating: [Int32] = [SIGTERM, SIGHUP, SIGINT, SIGQUIT]
    static let crashing: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE]

    static func install(pipeWrite: Int32) {
        signalPipe = pipeWrite
        // SIGWINCH may land on any thread, so curses' own flag would not wake our poll(): route it
        // through the pipe like the others; the backend then calls resizeterm itself.
        for sig in terminating + [SIGWINCH] {
            signal(sig) { s in
                // Async-signal-safe: one write of the signal number.
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(signalPipe, &b, 1)
            }
        }
        for sig in crashing {
            signal(sig) { s in
                // Best effort on a crash: give the terminal back before dying with the same signal.
                if cursesActiveFlag != 0 { cursesActiveFlag = 0; endwin() }
                signal(s, SIG_DFL)
                raise(s)
            }
        }
        if !atexitRegistered {
            atexitRegistered = true
            atexit { if cursesActiveFlag != 0 { cursesActiveFlag = 0; endwin() } }
        }
        signal(SIGPIPE, SIG_IGN)
    }

    static func uninstall() {
        for sig in terminating + crashing + [SIGWINCH] { signal(sig, SIG_DFL) }
        signalPipe = -1
    }

    /// Unblocks the signals the terminal session handles on the calling thread. The loop runs on a
    /// thread that may inherit a mask blocking them (Dispatch's threads block most signals).
    static func unblockOnThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in terminating + [SIGWINCH, SIGTSTP, SIGCONT] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Stops this process as Ctrl-Z would, and returns when it is continued.
    static func stopSelf() {
        unblockOnThisThread()
        let old = signal(SIGTSTP, SIG_DFL)
        raise(SIGTSTP)
        signal(SIGTSTP, old)
    }
}
