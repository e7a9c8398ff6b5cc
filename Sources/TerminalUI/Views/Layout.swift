/// Screen regions as a pure function of the terminal size.
public struct Layout: Equatable, Sendable {
    /// Below this the browser shows only a "terminal too small" screen.
    public static let minimum = Size(width: 50, height: 12)

    public var tabBar: Rect
    public var body: Rect
    public var status: Rect

    public init(size: Size) {
        let full = Rect(x: 0, y: 0, width: size.width, height: size.height)
        let (top, rest) = full.splitTop(1)
        let (body, status) = rest.splitTop(max(0, rest.height - 1))
        self.tabBar = top
        self.body = body
        self.status = status
    }

    public static func isTooSmall(_ size: Size) -> Bool {
        size.width < minimum.width || size.height < minimum.height
    }

    /// Column ranges of the view tabs on the tab bar.
    public static func tabs(width: Int) -> [(view: ViewID, x: Int, width: Int)] {
        var out: [(ViewID, Int, Int)] = []
        var x = 1
        for v in ViewID.allCases {
            let label = tabLabel(v, compact: width < 70)
            let w = DisplayText.width(label)
            out.append((v, x, w))
            x += w + 1
        }
        return out
    }

    static func tabLabel(_ v: ViewID, compact: Bool) -> String {
        compact ? " \(v.rawValue) \(v.title.prefix(3)) " : " \(v.rawValue) \(v.title) "
    }
}

/// Columns of the latent list at a given width.
public struct ListColumns: Equatable, Sendable {
    public struct Column: Equatable, Sendable {
        public var column: SortColumn
        public var x: Int
        public var width: Int
        public var alignRight: Bool
    }
    public var columns: [Column]

    public init(width: Int) {
        // Fixed columns, dropped from the right end when narrow (the newer scorers first); the explanation takes the rest.
        var fixed: [(SortColumn, Int)] = [(.density, 8), (.maxActivation, 7), (.detection, 6), (.fuzz, 6), (.verdict, 6),
                                          (.embedding, 6), (.simulation, 6), (.intervention, 6)]
        let indexWidth = 8
        // The newer scorers' columns only where the explanation keeps 40 columns; every column leaves before it has 16.
        while let last = fixed.last, [.embedding, .simulation, .intervention].contains(last.0),
              width - indexWidth - fixed.reduce(0, { $0 + $1.1 + 1 }) - 2 < 40 { fixed.removeLast() }
        while !fixed.isEmpty && width - indexWidth - fixed.reduce(0, { $0 + $1.1 + 1 }) - 2 < 16 { fixed.removeLast() }
        let explanationWidth = max(4, width - indexWidth - fixed.reduce(0, { $0 + $1.1 + 1 }) - 2)
        var cols: [Column] = [Column(column: .index, x: 1, width: indexWidth - 1, alignRight: true)]
        var x = indexWidth + 1
        cols.append(Column(column: .explanation, x: x, width: explanationWidth, alignRight: false))
        x += explanationWidth + 1
        for (c, w) in fixed {
            cols.append(Column(column: c, x: x, width: w, alignRight: true))
            x += w + 1
        }
        columns = cols
    }

    /// The column under screen column `x`.
    public func column(atX x: Int) -> SortColumn? {
        columns.first { x >= $0.x - 1 && x < $0.x + $0.width }?.column
    }
}
