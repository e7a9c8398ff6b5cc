import Foundation

/// Stand-ins in printable ASCII for the glyphs the browser draws, for terminals whose locale is not UTF-8.
///
/// Under the C/POSIX locale (no `LANG`, or a locale that is not installed) ncursesw writes every non-ASCII
/// character as nothing or a blank, so arrows, box lines and cursor markers would vanish. The curses backend
/// then maps each cell through `map(_:width:)` instead. `LANG=C.UTF-8` (or any installed UTF-8 locale)
/// gives the full glyphs.
///
/// The table (everything else becomes `?`, once per column):
///
/// | Glyphs | ASCII |
/// | --- | --- |
/// | box drawing U+2500–U+257F | `-` horizontal, `\|` vertical, `+` corners, tees and crosses, `/` `\` `X` diagonals |
/// | `▲` `↑` / `▼` `↓` / `▶` `►` `→` / `◀` `◄` `←` | `^` / `v` / `>` / `<` |
/// | vertical bar eighths `▁▂▃▄▅▆▇█` | `_ . - = + * % #` (by height) |
/// | horizontal bar eighths `▏▎▍▌▋▊▉` | `. . - - = = #` (by length) |
/// | shades `░▒▓` | `. : #` |
/// | `·` `•` `…` | `.` `*` `.` |
/// | `“ ” „ « »` / `‘ ’ ‹ ›` | `"` / `'` |
/// | `– —` `×` `✓` `✗` `∅` | `-` `x` `+` `x` `-` |
/// | braille spinner frames | `\| / - \` in turn |
/// | newline marks `↵ ⏎ ␊` / tab marks `⇥ ␉` / visible space `·` | `$` / `>` / `.` |
/// | other control pictures `␀…␟ ␡` (␍ ␛ …) | `^` |
/// | `�` (replaced invalid or invisible text) | `?` |
/// | letters with diacritics | the base letter (canonical decomposition: é → e), a few more by hand (ß → s, ø → o) |
/// | wide glyphs (CJK, emoji) without a stand-in | `??` |
public enum ASCIIFallback {
    /// The "terminals without UTF-8" paragraph of docs/keybindings.md.
    public static let markdownNote = """

        ## Terminals without UTF-8

        When the locale is not UTF-8 (no `LANG`, `LC_ALL=C`, or a locale that is not installed, as on many \
        minimal SSH servers), the browser draws in plain ASCII: box lines as `-` `|` `+`, the sort arrow as `^`/`v`, \
        the cursor marker as `>`, bars as `_.-=+*%#`, newlines inside tokens as `$`, tabs as `>`, visible spaces \
        as `.`, accented letters without their accents and other characters as `?`. It does not switch the \
        locale itself, because the terminal may not speak UTF-8 either. Run it as `LANG=C.UTF-8 featurescope browse` \
        (`LC_ALL=C.UTF-8` when `LC_ALL` is set; any installed UTF-8 locale works, see `locale -a`) for the full glyphs.

        """

    /// The stand-in for a glyph that has none.
    public static let unknown: Character = "?"

    /// Maps one cell's text to exactly `width` printable ASCII characters (`width` is the cell's display
    /// width, 1 or 2; other values are clamped to that range).
    public static func map(_ text: String, width: Int) -> String {
        let w = min(2, max(1, width))
        // Fast path: one printable ASCII character (the overwhelmingly common cell).
        let utf8 = text.utf8
        if utf8.count == w, utf8.allSatisfy(isPrintableASCII) { return text }
        guard let first = text.unicodeScalars.first else { return String(repeating: " ", count: w) }
        if let c = table[first.value] ?? letter(text) { return pad(String(c), to: w) }
        if let s = compatibilityASCII(text, width: w) { return pad(s, to: w) }
        if first.value < 0x80, isPrintableASCII(UInt8(first.value)) { return pad(String(Character(first)), to: w) }
        return String(repeating: unknown, count: w)
    }

    /// Maps a whole string glyph by glyph (each at its display width), e.g. for messages printed outside curses.
    public static func map(_ text: String) -> String {
        var out = ""
        for ch in text {
            let w = DisplayText.width(of: ch)
            if w == 0 { continue }
            out += map(String(ch), width: w)
        }
        return out
    }

    /// The display width of the cell at (x, y): 2 when the next cell continues it (a wide glyph), else 1.
    public static func cellWidth(in screen: Screen, x: Int, y: Int) -> Int {
        x + 1 < screen.size.width && screen[x + 1, y].isContinuation ? 2 : 1
    }

    /// Row `y` as the ASCII text an ASCII-mode terminal shows (exactly `screen.size.width` characters).
    public static func rowText(_ screen: Screen, y: Int) -> String {
        guard y >= 0, y < screen.size.height else { return "" }
        var s = ""
        for x in 0..<screen.size.width {
            let cell = screen[x, y]
            if cell.isContinuation {
                // A continuation whose wide glyph was cut off at the left edge: keep the column.
                if x == 0 { s += " " }
                continue
            }
            s += map(cell.text, width: cellWidth(in: screen, x: x, y: y))
        }
        return s
    }

    /// True when a locale codeset name (`nl_langinfo(CODESET)`) is UTF-8 ("UTF-8", "utf8", …).
    public static func isUTF8(codeset: String) -> Bool {
        let name = codeset.lowercased().filter { $0 != "-" && $0 != "_" }
        return name == "utf8"
    }

    static func isPrintableASCII(_ b: UInt8) -> Bool { b >= 0x20 && b < 0x7F }

    private static func pad(_ s: String, to width: Int) -> String {
        if s.count == width { return s }
        if s.count > width { return String(s.prefix(width)) }
        return s + String(repeating: " ", count: width - s.count)
    }

    /// A letter with diacritics: its canonical decomposition's base letter (é → e, ï → i).
    private static func letter(_ text: String) -> Character? {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic else { return nil }
        let decomposed = text.decomposedStringWithCanonicalMapping.unicodeScalars
        guard let base = decomposed.first, base.value < 0x80, isPrintableASCII(UInt8(base.value)) else { return nil }
        // Everything after the base must be combining marks, or the glyph is more than an accented letter.
        guard decomposed.dropFirst().allSatisfy(isMark) else { return nil }
        return Character(base)
    }

    /// The compatibility decomposition when it is plain ASCII (plus marks) and fits: ² → 2, fullwidth Ａ → A.
    private static func compatibilityASCII(_ text: String, width: Int) -> String? {
        var out = ""
        for s in text.decomposedStringWithCompatibilityMapping.unicodeScalars {
            if isMark(s) { continue }
            guard s.value < 0x80, isPrintableASCII(UInt8(s.value)) else { return nil }
            out.unicodeScalars.append(s)
        }
        return out.isEmpty || out.count > width ? nil : out
    }

    private static func isMark(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return s.value == 0xFE0F || s.value == 0xFE0E || s.value == 0x200D
        }
    }

    /// Single-glyph stand-ins, by code point.
    static let table: [UInt32: Character] = {
        var t: [UInt32: Character] = [:]
        func set(_ glyphs: String, _ c: Character) { for s in glyphs.unicodeScalars { t[s.value] = c } }
        // Box drawing: everything not listed as a line is a corner, tee or cross.
        for v in UInt32(0x2500)...0x257F { t[v] = "+" }
        set("─━┄┅┈┉╌╍═╴╶╸╺╼╾", "-")
        set("│┃┆┇┊┋╎╏║╵╷╹╻╽╿", "|")
        set("╱", "/"); set("╲", "\\"); set("╳", "X")
        // Block elements: vertical eighths by height, horizontal eighths by length, shades.
        let ramp: [Character] = ["_", ".", "-", "=", "+", "*", "%", "#"]
        for (i, c) in ramp.enumerated() { t[0x2581 + UInt32(i)] = c }
        // U+2589 ▉ (7/8) … U+258F ▏ (1/8).
        let leftBlocks: [Character] = ["#", "=", "=", "-", "-", ".", "."]
        for (i, c) in leftBlocks.enumerated() { t[0x2589 + UInt32(i)] = c }
        set("▀▔", "\""); set("▐▕", "|"); set("░", "."); set("▒", ":"); set("▓", "#")
        for v in UInt32(0x2596)...0x259F { t[v] = "#" }
        // Arrows and triangles.
        set("▲△▴▵↑⇑⬆", "^"); set("▼▽▾▿↓⇓⬇", "v")
        set("▶►▷▸▹→⇒⟶➜➔", ">"); set("◀◄◁◂◃←⇐⟵", "<")
        set("↔⇔", "-"); set("↕⇕", "|")
        // Bullets, dots, marks.
        set("·•∙●◆■▪◉", "*"); t[0x00B7] = "."; t[0x2219] = "."
        set("○◦□◇▫", "o")
        set("…⋯‥", ".")
        set("“”„‟«»″", "\""); set("‘’‚‛‹›′", "'")
        set("‐‑‒–—―−", "-")
        set("×✕✖✗✘", "x"); set("✓✔", "+"); set("÷", "/"); set("±", "+")
        set("≤", "<"); set("≥", ">"); set("≈∼", "~"); set("≠", "#"); set("∅", "-")
        set("°", "o"); set("µ", "u"); set("¡", "!"); set("¿", "?"); set("¬", "-")
        set("©", "c"); set("®", "r"); set("™", "T"); set("€", "E"); set("£", "L"); set("¥", "Y"); set("¢", "c")
        set("§", "S"); set("¶", "P")
        // Letters with no canonical decomposition.
        set("ß", "s"); set("æ", "a"); set("Æ", "A"); set("ø", "o"); set("Ø", "O"); set("œ", "o"); set("Œ", "O")
        set("đð", "d"); set("ĐÐ", "D"); set("ł", "l"); set("Ł", "L"); set("ı", "i"); set("þ", "p"); set("Þ", "P")
        // Spaces that are not U+0020.
        t[0x00A0] = " "
        for v in UInt32(0x2000)...0x200A { t[v] = " " }
        t[0x202F] = " "; t[0x205F] = " "; t[0x3000] = " "
        // Visible whitespace and control characters (SafeText): newline, tab, then the rest in caret style.
        set("↵⏎␊↩⮐", "$"); set("⇥␉↹", ">")
        for v in UInt32(0x2400)...0x2421 { if t[v] == nil { t[v] = "^" } }
        t[0x2424] = "$"  // ␤ newline
        t[0xFFFD] = "?"
        // The spinner (Widgets.spinner): braille frames turn as | / - \ .
        let spinner: [Character] = ["|", "/", "-", "\\"]
        for (i, s) in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏".unicodeScalars.enumerated() { t[s.value] = spinner[i % spinner.count] }
        return t
    }()
}
