/// The closed set of semantic roles a view may use; themes map each role to colours and attributes.
public enum Role: String, CaseIterable, Sendable, Hashable {
    /// Ordinary text on the normal background.
    case text
    /// Less important text (units, separators, placeholders).
    case muted
    /// Box lines and rules.
    case border
    /// Section and pane titles.
    case title
    /// Column headers.
    case header
    /// The selected row or item.
    case selection
    /// The top bar with view tabs.
    case tabBar
    /// The active tab.
    case tabActive
    /// The bottom status line.
    case status
    /// Key names inside hints.
    case statusKey
    /// Emphasis: the current latent, links.
    case accent
    /// Good values (high scores, correct predictions).
    case good
    /// Bad values (low scores, mistakes, errors).
    case bad
    /// Medium values and warnings.
    case warn
    /// Search matches.
    case match
    /// Filled part of a bar chart.
    case bar
    /// The empty track of a bar chart.
    case barTrack
    /// Activation ramp, weakest (1) to strongest (5). Level 0 uses `text`.
    case heat1, heat2, heat3, heat4, heat5
    /// The token under the cursor inside a context.
    case cursorToken
    /// Modal overlays (help, dialogs).
    case overlay
    /// Text input fields.
    case input

    /// The activation ramp in order, weakest first.
    public static let heatRamp: [Role] = [.heat1, .heat2, .heat3, .heat4, .heat5]

    /// The ramp role for a normalised activation in 0…1 (nil for zero).
    public static func heat(_ fraction: Double) -> Role? {
        guard fraction > 0, fraction.isFinite else { return nil }
        let level = min(4, max(0, Int((fraction * 5).rounded(.up)) - 1))
        return heatRamp[level]
    }
}

/// How one cell looks: foreground role, background role and attributes.
public struct Style: Hashable, Sendable {
    public var fg: Role
    public var bg: Role
    public var bold: Bool
    public var underline: Bool
    public var reverse: Bool

    public init(fg: Role = .text, bg: Role = .text, bold: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.underline = underline
        self.reverse = reverse
    }

    /// Foreground and background from one role.
    public static func role(_ r: Role, bold: Bool = false, underline: Bool = false) -> Style {
        Style(fg: r, bg: r, bold: bold, underline: underline)
    }

    public static let plain = Style()

    public func bolded(_ on: Bool = true) -> Style { var s = self; s.bold = on; return s }
    public func underlined(_ on: Bool = true) -> Style { var s = self; s.underline = on; return s }
    public func reversed(_ on: Bool = true) -> Style { var s = self; s.reverse = on; return s }
    public func withBackground(_ r: Role) -> Style { var s = self; s.bg = r; return s }
    public func withForeground(_ r: Role) -> Style { var s = self; s.fg = r; return s }
}
