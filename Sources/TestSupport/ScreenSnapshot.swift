import Foundation
import TerminalUI

/// A whole frame as reviewable text: the characters, then a layer with one letter per cell naming its style, and the
/// legend of those letters (theme roles and attributes, not colours: the snapshot holds for every theme).
///
///     frame 80x24, cursor none
///     |Latents 1,000 · blocks.6.hook_resid_post …   |
///     …
///     styles
///     |aaaaaaabbbbbbbbb…|
///     …
///     legend
///     . fg=text bg=text
///     a fg=accent bg=text bold
///
/// Each row is framed by `|` so trailing spaces show; the right half of a wide glyph adds nothing to the character
/// row and repeats its style letter in the style row. Letters are given in order of first appearance, `.` being the
/// plain style.
public enum ScreenSnapshot {
    static let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    public static func text(of screen: Screen) -> String {
        var keys: [Style: Character] = [.plain: "."]
        var order: [Style] = [.plain]
        var chars: [String] = [], styles: [String] = []
        for y in 0 ..< screen.size.height {
            var c = "|", s = "|"
            for x in 0 ..< screen.size.width {
                let cell = screen[x, y]
                c += cell.text
                if keys[cell.style] == nil {
                    keys[cell.style] = order.count - 1 < letters.count ? letters[order.count - 1] : "?"
                    order.append(cell.style)
                }
                s.append(keys[cell.style]!)
            }
            chars.append(c + "|")
            styles.append(s + "|")
        }
        let cursor = screen.cursor.map { "\($0.x),\($0.y)" } ?? "none"
        var lines = ["frame \(screen.size.width)x\(screen.size.height), cursor \(cursor)"] + chars + ["styles"] + styles + ["legend"]
        for style in order {
            var d = "\(keys[style]!) fg=\(style.fg.rawValue) bg=\(style.bg.rawValue)"
            if style.bold { d += " bold" }
            if style.underline { d += " underline" }
            if style.reverse { d += " reverse" }
            lines.append(d)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// True when FEATURESCOPE_UPDATE_SNAPSHOTS=1 (scripts/update-snapshots): snapshots are written, not compared.
    public static var updating: Bool { ProcessInfo.processInfo.environment["FEATURESCOPE_UPDATE_SNAPSHOTS"] == "1" }

    /// Compares `screen` with the snapshot file `path` (or writes it when updating). Returns a failure message, or
    /// nil when they match. A missing file is a failure.
    public static func check(_ screen: Screen, against path: String) -> String? {
        let got = text(of: screen)
        if updating {
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try got.write(toFile: path, atomically: true, encoding: .utf8)
                return nil
            } catch { return "cannot write \(path): \(error)" }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return "no snapshot \(path); run scripts/update-snapshots and review the new file"
        }
        let want = String(decoding: data, as: UTF8.self)
        guard got != want else { return nil }
        let g = got.split(separator: "\n", omittingEmptySubsequences: false), w = want.split(separator: "\n", omittingEmptySubsequences: false)
        let first = zip(g, w).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(g.count, w.count)
        let show = { (lines: [Substring]) in first < lines.count ? String(lines[first]) : "(end)" }
        return "\(path) differs at line \(first + 1):\n  want \(show(w))\n  got  \(show(g))\nrun scripts/update-snapshots if the change is deliberate"
    }
}
