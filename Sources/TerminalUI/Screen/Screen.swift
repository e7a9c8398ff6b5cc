import FeaturescopeCore

/// A position on the screen (column, row), zero-based from the top-left.
public struct Point: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public init(x: Int, y: Int) { self.x = x; self.y = y }
}

/// Terminal size in cells.
public struct Size: Hashable, Sendable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
}

/// A rectangle of cells.
public struct Rect: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public func contains(_ p: Point) -> Bool { p.x >= x && p.x < maxX && p.y >= y && p.y < maxY }
    /// The rectangle shrunk by `d` on every side.
    public func inset(_ d: Int) -> Rect { Rect(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d) }
    /// Splits off the top `n` rows.
    public func splitTop(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: k), Rect(x: x, y: y + k, width: width, height: height - k))
    }
    /// Splits off the left `n` columns.
    public func splitLeft(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), width)
        return (Rect(x: x, y: y, width: k, height: height), Rect(x: x + k, y: y, width: width - k, height: height))
    }
}

/// One terminal cell. A wide glyph occupies its cell and the next, whose `text` is empty (a continuation).
public struct Cell: Hashable, Sendable {
    public var text: String
    public var style: Style
    public init(text: String = " ", style: Style = .plain) { self.text = text; self.style = style }
    /// True for the right half of a wide glyph.
    public var isContinuation: Bool { text.isEmpty }
}

/// An in-memory grid of cells that views render into; backends diff and flush it.
public struct Screen: Sendable, Equatable {
    public let size: Size
    public private(set) var cells: [Cell]
    /// Where the text cursor should be shown (nil hides it).
    public var cursor: Point?

    public init(size: Size, fill: Style = .plain) {
        self.size = Size(width: max(0, size.width), height: max(0, size.height))
        self.cells = Array(repeating: Cell(text: " ", style: fill), count: self.size.width * self.size.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: size.width, height: size.height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * size.width + x] }
        set { cells[y * size.width + x] = newValue }
    }

    /// Fills a rectangle (clipped to the screen) with spaces in `style`.
    public mutating func fill(_ rect: Rect, style: Style, text: String = " ") {
        let x0 = max(0, rect.x), x1 = min(size.width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(size.height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { cells[y * size.width + x] = Cell(text: text, style: style) } }
    }

    /// Writes sanitised `text` at (x, y) in `style`, clipped to `maxWidth` columns and the screen;
    /// truncates with `…` when `ellipsis` is true. Returns the columns used.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, maxWidth: Int? = nil, style: Style,
                               ellipsis: Bool = true, options: SafeText.Options = SafeText.Options()) -> Int {
        guard y >= 0, y < size.height, x < size.width else { return 0 }
        let limit = min(maxWidth ?? Int.max, size.width - max(0, x))
        guard limit > 0 else { return 0 }
        var glyphs = DisplayText.glyphs(text, options: options)
        let total = glyphs.reduce(0) { $0 + $1.width }
        if total > limit {
            var kept: [DisplayGlyph] = []
            var used = 0
            let room = ellipsis ? limit - 1 : limit
            for g in glyphs {
                if used + g.width > room { break }
                kept.append(g); used += g.width
            }
            if ellipsis { kept.append(DisplayGlyph(text: DisplayText.ellipsis, width: 1)) }
            glyphs = kept
        }
        return put(glyphs, x: x, y: y, style: style)
    }

    /// Places already-measured glyphs; returns the columns used.
    @discardableResult
    public mutating func put(_ glyphs: [DisplayGlyph], x: Int, y: Int, style: Style) -> Int {
        var cx = x
        for g in glyphs {
            if cx + g.width > size.width { break }
            if cx >= 0 {
                repairWideNeighbours(x: cx, y: y, width: g.width)
                cells[y * size.width + cx] = Cell(text: g.text, style: style)
                if g.width == 2 { cells[y * size.width + cx + 1] = Cell(text: "", style: style) }
            }
            cx += g.width
        }
        return cx - x
    }

    /// Overwriting half of a wide glyph blanks its other half so no broken glyph remains.
    private mutating func repairWideNeighbours(x: Int, y: Int, width: Int) {
        let row = y * size.width
        if cells[row + x].isContinuation, x > 0 { cells[row + x - 1].text = " " }
        let after = x + width
        if after < size.width, cells[row + after].isContinuation { cells[row + after].text = " " }
    }

    /// Applies `change` to the style of every cell in a rectangle (e.g. to mark a selected row).
    public mutating func restyle(_ rect: Rect, _ change: (inout Style) -> Void) {
        let x0 = max(0, rect.x), x1 = min(size.width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(size.height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { change(&cells[y * size.width + x].style) } }
    }

    /// The text of row `y` (continuations skipped), for tests and debugging.
    public func rowText(_ y: Int) -> String {
        guard y >= 0, y < size.height else { return "" }
        var s = ""
        for x in 0..<size.width { s += cells[y * size.width + x].text }
        return s
    }

    /// All rows joined by newlines.
    public var text: String { (0..<size.height).map(rowText).joined(separator: "\n") }

    /// The first position where `needle` appears in a row, if any.
    public func find(_ needle: String) -> Point? {
        for y in 0..<size.height {
            let row = rowText(y)
            if let r = row.range(of: needle) {
                let prefix = String(row[row.startIndex..<r.lowerBound])
                return Point(x: DisplayText.width(prefix), y: y)
            }
        }
        return nil
    }
}
