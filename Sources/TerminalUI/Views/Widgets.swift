import Foundation
import FeaturescopeCore

/// Small drawing and formatting helpers shared by the views.
public enum Widgets {
    static let horizontalEighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    static let verticalEighths = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A horizontal bar of `width` columns filled to `fraction` (0…1), with eighth-block precision.
    public static func hbar(_ fraction: Double, width: Int) -> String {
        guard width > 0 else { return "" }
        let f = fraction.isFinite ? min(1, max(0, fraction)) : 0
        let eighths = Int((f * Double(width * 8)).rounded())
        let full = eighths / 8, part = eighths % 8
        var s = String(repeating: "█", count: full)
        if full < width { s += horizontalEighths[part] }
        return s
    }

    /// Rows (top first) of a vertical bar chart of `values` (0…1), `height` rows, bars `barWidth` wide.
    public static func vbars(_ values: [Double], height: Int, barWidth: Int = 1, gap: Int = 0) -> [String] {
        guard height > 0 else { return [] }
        var rows = [String](repeating: "", count: height)
        for (i, v) in values.enumerated() {
            let f = v.isFinite ? min(1, max(0, v)) : 0
            var eighths = Int((f * Double(height * 8)).rounded())
            if f > 0 && eighths == 0 { eighths = 1 }
            for r in 0..<height {
                let fromBottom = height - 1 - r
                let level = min(8, max(0, eighths - fromBottom * 8))
                rows[r] += String(repeating: verticalEighths[level], count: barWidth)
                if gap > 0 && i < values.count - 1 { rows[r] += String(repeating: " ", count: gap) }
            }
        }
        return rows
    }

    /// A score (0…1) with two decimals, or "—".
    public static func score(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "—" }
        return String(format: "%.2f", v)
    }

    /// The role that colours a score; the number itself always carries the meaning too.
    public static func scoreRole(_ v: Double?) -> Role {
        guard let v else { return .muted }
        if v >= 0.8 { return .good }
        if v >= 0.65 { return .warn }
        return .bad
    }

    /// A density as a compact scientific number, e.g. "1.2e-03".
    public static func density(_ d: Double) -> String {
        guard d.isFinite, d > 0 else { return "0" }
        return String(format: "%.1e", d)
    }

    /// An activation with 3 significant figures.
    public static func activation(_ a: Float) -> String {
        guard a.isFinite else { return "?" }
        let v = Double(a)
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 10 { return String(format: "%.1f", v) }
        return String(format: "%.2f", v)
    }

    /// The spinner glyph for a frame.
    public static func spinner(_ frame: Int) -> String {
        let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
        return frames[((frame % frames.count) + frames.count) % frames.count]
    }

    /// Display text of one token: sanitised, whitespace visible when asked, long tokens cut to `maxWidth`.
    public static func token(_ t: String, showWhitespace: Bool, maxWidth: Int = 24) -> String {
        let opts = SafeText.Options(showSpaces: showWhitespace, showNewlines: true)
        let s = DisplayText.truncate(t, width: maxWidth, options: opts)
        return s.isEmpty ? "∅" : s
    }

    /// Display width of `token(t, …)`, without building it for printable ASCII (the common case).
    public static func tokenWidth(_ t: String, showWhitespace: Bool, maxWidth: Int = 24) -> Int {
        var n = 0
        for b in t.utf8 {
            guard b >= 0x20 && b < 0x7F else {
                return DisplayText.width(token(t, showWhitespace: showWhitespace, maxWidth: maxWidth),
                                         options: SafeText.Options(showSpaces: showWhitespace, showNewlines: true))
            }
            n += 1
        }
        return n == 0 ? 1 : min(n, maxWidth)
    }

    /// Draws a titled box border around `rect`.
    public static func box(_ screen: inout Screen, _ rect: Rect, title: String?, style: Style = .role(.border)) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let top = "┌" + String(repeating: "─", count: rect.width - 2) + "┐"
        let bottom = "└" + String(repeating: "─", count: rect.width - 2) + "┘"
        screen.write(top, x: rect.x, y: rect.y, maxWidth: rect.width, style: style, ellipsis: false)
        screen.write(bottom, x: rect.x, y: rect.maxY - 1, maxWidth: rect.width, style: style, ellipsis: false)
        for y in (rect.y + 1)..<(rect.maxY - 1) {
            screen.write("│", x: rect.x, y: y, style: style)
            screen.write("│", x: rect.maxX - 1, y: y, style: style)
        }
        if let title, rect.width > 6 {
            screen.write(" \(title) ", x: rect.x + 2, y: rect.y, maxWidth: rect.width - 4, style: .role(.title, bold: true))
        }
    }

    /// A section heading: title followed by a rule to the right edge.
    public static func heading(_ screen: inout Screen, _ title: String, x: Int, y: Int, width: Int) {
        let used = screen.write(title, x: x, y: y, maxWidth: width, style: .role(.title, bold: true))
        if used + 1 < width {
            screen.write(" " + String(repeating: "─", count: width - used - 1), x: x + used, y: y,
                         maxWidth: width - used, style: .role(.border), ellipsis: false)
        }
    }
}
