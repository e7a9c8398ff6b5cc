import Foundation

/// A colour as written in a theme file.
public enum ThemeColor: Hashable, Sendable {
    /// The terminal's own default colour.
    case terminalDefault
    case rgb(UInt8, UInt8, UInt8)
}

/// How one role looks: colours plus attributes with colour, and attributes used without colour.
public struct RoleStyle: Hashable, Sendable {
    public var fg: ThemeColor
    public var bg: ThemeColor
    public var bold = false
    public var underline = false
    public var reverse = false
    /// Attributes used when colour is off (NO_COLOR, monochrome) or too coarse (8 colours, ramp roles).
    public var mono: MonoAttributes = MonoAttributes()
    public init(fg: ThemeColor = .terminalDefault, bg: ThemeColor = .terminalDefault) { self.fg = fg; self.bg = bg }
}

/// Attributes only, for terminals without colour.
public struct MonoAttributes: Hashable, Sendable {
    public var bold = false
    public var underline = false
    public var reverse = false
    public init(bold: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.bold = bold; self.underline = underline; self.reverse = reverse
    }
}

/// How many colours the terminal can show.
public enum ColorDepth: String, Sendable, CaseIterable {
    case monochrome, ansi8, xterm256, truecolor

    /// Picks the depth from the environment and the colour count curses reports.
    /// NO_COLOR (any value) or `noColor` → monochrome; COLORTERM=truecolor|24bit → truecolor; then 256; then 8.
    public static func detect(environment: [String: String], terminalColors: Int, noColor: Bool) -> ColorDepth {
        if noColor || environment["NO_COLOR"] != nil { return .monochrome }
        if terminalColors < 8 { return .monochrome }
        let ct = environment["COLORTERM"]?.lowercased() ?? ""
        if ct == "truecolor" || ct == "24bit" { return .truecolor }
        if terminalColors >= 256 { return .xterm256 }
        return .ansi8
    }
}

/// A colour the backend can set: terminal default, a palette index, or direct RGB.
public enum TerminalColor: Hashable, Sendable {
    case terminalDefault
    case index(Int)
    case rgb(UInt8, UInt8, UInt8)
}

/// A style resolved against a theme and colour depth: what the backend sends.
public struct ResolvedStyle: Hashable, Sendable {
    public var fg: TerminalColor
    public var bg: TerminalColor
    public var bold: Bool
    public var underline: Bool
    public var reverse: Bool
}

/// A named mapping from every semantic role to its look.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var roles: [Role: RoleStyle]

    public init(name: String, roles: [Role: RoleStyle]) { self.name = name; self.roles = roles }

    public func style(for role: Role) -> RoleStyle { roles[role] ?? roles[.text] ?? RoleStyle() }

    /// Resolves a cell style for a colour depth. Without colour, the roles' mono attributes carry the meaning.
    public func resolve(_ s: Style, depth: ColorDepth) -> ResolvedStyle {
        let fgRole = style(for: s.fg), bgRole = style(for: s.bg)
        var bold = s.bold || fgRole.bold
        var underline = s.underline || fgRole.underline
        var reverse = s.reverse || fgRole.reverse
        if s.bg != s.fg { bold = bold || bgRole.bold; underline = underline || bgRole.underline }
        if depth == .monochrome || (depth == .ansi8 && Role.heatRamp.contains(s.bg)) {
            for m in [fgRole.mono, s.bg != s.fg ? bgRole.mono : MonoAttributes()] {
                bold = bold || m.bold; underline = underline || m.underline; reverse = reverse || m.reverse
            }
        }
        if depth == .monochrome {
            return ResolvedStyle(fg: .terminalDefault, bg: .terminalDefault, bold: bold, underline: underline, reverse: reverse)
        }
        return ResolvedStyle(fg: Theme.convert(fgRole.fg, depth), bg: Theme.convert(bgRole.bg, depth),
                             bold: bold, underline: underline, reverse: reverse)
    }

    /// Converts a theme colour to what a terminal of `depth` can show (nearest palette entry).
    public static func convert(_ c: ThemeColor, _ depth: ColorDepth) -> TerminalColor {
        guard case let .rgb(r, g, b) = c else { return .terminalDefault }
        switch depth {
        case .monochrome: return .terminalDefault
        case .truecolor: return .rgb(r, g, b)
        case .xterm256: return .index(nearest256(r, g, b))
        case .ansi8: return .index(nearest8(r, g, b))
        }
    }

    /// Nearest xterm-256 index (6×6×6 cube or the 24-step grey ramp).
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func idx(_ v: UInt8) -> Int {
            var best = 0
            for (i, l) in levels.enumerated() where abs(l - Int(v)) < abs(levels[best] - Int(v)) { best = i }
            return best
        }
        let ci = (idx(r), idx(g), idx(b))
        let cube = (levels[ci.0], levels[ci.1], levels[ci.2])
        let avg = (Int(r) + Int(g) + Int(b)) / 3
        let greyStep = min(23, max(0, (avg - 8 + 5) / 10))
        let grey = 8 + greyStep * 10
        func d(_ a: (Int, Int, Int)) -> Int {
            let dr = a.0 - Int(r), dg = a.1 - Int(g), db = a.2 - Int(b)
            return dr * dr + dg * dg + db * db
        }
        if d((grey, grey, grey)) < d(cube) { return 232 + greyStep }
        return 16 + 36 * ci.0 + 6 * ci.1 + ci.2
    }

    /// Nearest of the 8 basic ANSI colours.
    public static func nearest8(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        let palette: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
                                          (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229)]
        var best = 0, bestD = Int.max
        for (i, p) in palette.enumerated() {
            let dr = p.0 - Int(r), dg = p.1 - Int(g), db = p.2 - Int(b)
            let dd = dr * dr + dg * dg + db * db
            if dd < bestD { bestD = dd; best = i }
        }
        return best
    }
}
