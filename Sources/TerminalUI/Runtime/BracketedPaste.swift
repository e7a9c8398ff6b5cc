/// Turns the keys of a bracketed paste (`ESC [ 2 0 0 ~` … `ESC [ 2 0 1 ~`, xterm mode 2004) into one
/// `.paste` event, so pasted text reaches a text field as text and never runs as commands.
///
/// Backends feed every decoded key through `feed` and call `endOfInput` when no more input is
/// buffered: an incomplete start marker then is released as ordinary keys (a lone Esc press stays
/// an Esc), while an open paste keeps collecting until its end marker or `maxBytes`.
public struct BracketedPasteDecoder: Sendable {
    /// Escape sequences that switch the terminal's bracketed paste mode on and off.
    public static let enable = "\u{1B}[?2004h"
    public static let disable = "\u{1B}[?2004l"
    /// A paste longer than this is delivered in pieces of this size.
    public var maxBytes = 1 << 20

    private static let start: [Key] = [.escape, .char("["), .char("2"), .char("0"), .char("0"), .char("~")]
    private static let end: [Key] = [.escape, .char("["), .char("2"), .char("0"), .char("1"), .char("~")]

    private var held: [Key] = []
    private var pasting = false
    private var text = ""

    public init() {}

    /// Whether a paste is being collected.
    public var isPasting: Bool { pasting }

    /// One decoded input event in; zero or more events out, in order.
    public mutating func feed(_ event: TerminalEvent) -> [TerminalEvent] {
        guard case let .key(k) = event else {
            return pasting ? [] : release() + [event]
        }
        held.append(k)
        let marker = pasting ? Self.end : Self.start
        if held == Array(marker.prefix(held.count)) {
            guard held.count == marker.count else { return [] }
            held = []
            if pasting {
                pasting = false
                let out = text
                text = ""
                return [.paste(out)]
            }
            pasting = true
            return []
        }
        // Not the marker after all; a trailing Esc may still begin one.
        let restart = held.count > 1 && held.last == .escape
        if restart { held.removeLast() }
        defer { if restart { held.append(.escape) } }
        if pasting {
            // The held keys are pasted text.
            for key in held { append(key) }
            held = []
            if text.utf8.count >= maxBytes {
                let out = text
                text = ""
                return [.paste(out)]
            }
            return []
        }
        return release()
    }

    /// No more input is buffered: keys held as a possible start marker are ordinary keys.
    public mutating func endOfInput() -> [TerminalEvent] {
        pasting ? [] : release()
    }

    private mutating func release() -> [TerminalEvent] {
        defer { held = [] }
        return held.map { .key($0) }
    }

    private mutating func append(_ k: Key) {
        switch k {
        case let .char(c): text.append(c)
        case .enter, .ctrl("j"): text.append("\n")
        case .tab: text.append("\t")
        case .escape: text.append("\u{1B}")
        default: break
        }
    }
}
