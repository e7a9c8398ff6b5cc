import Foundation

/// An input event from the terminal.
public enum TerminalEvent: Sendable, Equatable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(Size)
    /// Text pasted with bracketed paste on (one event for the whole paste).
    case paste(String)
    /// SIGTERM, SIGHUP or SIGINT arrived.
    case signal(Int32)
    /// Background work finished (the runtime should look at its inbox).
    case wake
}

/// Wakes a backend's blocking `nextEvent` from another thread.
public protocol Waker: Sendable {
    func wake()
}

/// A terminal the runtime can draw to and read from. The curses backend and the test backend implement it.
/// All methods except `waker.wake()` are called from the runtime's one thread.
public protocol TerminalBackend: AnyObject {
    /// Takes over the terminal (alternate screen, raw input).
    func start() throws
    /// Gives the terminal back exactly as it was. Safe to call twice.
    func stop()
    /// The current size in cells.
    var size: Size { get }
    /// The next input, waiting at most `timeout` (nil: until something happens). Returns nil on timeout.
    func nextEvent(timeout: Duration?) -> TerminalEvent?
    /// Shows a frame (backends diff against what is on screen).
    func draw(_ screen: Screen)
    /// Ctrl-Z: restore the terminal, stop the process, and take the terminal back when resumed.
    func suspend()
    /// Used by background tasks to interrupt `nextEvent`.
    var waker: Waker { get }
}
