import FeaturescopeCore

/// A run of text in one style; token spans remember which context token they show.
public struct Span: Sendable, Equatable {
    public var text: String
    public var style: Style
    /// (flattened window, token) for context tokens, so clicks and highlights find them.
    public var token: TokenPosition?
    public var showSpaces: Bool

    public init(_ text: String, _ style: Style = .plain, token: TokenPosition? = nil, showSpaces: Bool = false) {
        self.text = text; self.style = style; self.token = token; self.showSpaces = showSpaces
    }
}

/// A token inside the flattened list of context windows.
public struct TokenPosition: Hashable, Sendable {
    public var window: Int
    public var token: Int
    public init(window: Int, token: Int) { self.window = window; self.token = token }
}

/// One line of a scrolling document.
public struct DocLine: Sendable, Equatable {
    public var spans: [Span]
    public init(_ spans: [Span] = []) { self.spans = spans }
    public static func text(_ s: String, _ style: Style = .plain) -> DocLine { DocLine([Span(s, style)]) }
    public static let blank = DocLine()
}

extension Screen {
    /// Draws a document line at (x, y), clipped to `width` (ending with `…` when cut).
    public mutating func draw(_ line: DocLine, x: Int, y: Int, width: Int) {
        var cx = x
        let end = x + width
        for (i, span) in line.spans.enumerated() {
            guard cx < end else { break }
            let opts = SafeText.Options(showSpaces: span.showSpaces, showNewlines: true)
            let w = DisplayText.width(span.text, options: opts)
            let isLast = i == line.spans.count - 1
            if cx + w > end || (!isLast && cx + w == end && remainingWidth(line, after: i) > 0) {
                write(span.text, x: cx, y: y, maxWidth: end - cx, style: span.style, ellipsis: true, options: opts)
                return
            }
            cx += write(span.text, x: cx, y: y, maxWidth: end - cx, style: span.style, ellipsis: false, options: opts)
        }
    }

    private func remainingWidth(_ line: DocLine, after i: Int) -> Int {
        line.spans[(i + 1)...].reduce(0) { $0 + DisplayText.width($1.text) }
    }
}

extension DocLine {
    /// The token span under column `dx` (relative to where the line starts).
    public func token(atColumn dx: Int) -> TokenPosition? {
        var cx = 0
        for s in spans {
            let w = DisplayText.width(s.text, options: SafeText.Options(showSpaces: s.showSpaces))
            if dx >= cx && dx < cx + w { return s.token }
            cx += w
        }
        return nil
    }
}
