import Foundation

extension Update {
    /// Pasted text (bracketed paste) goes into the focused text field as text, never as keys: newlines
    /// become line breaks in the prompt editor and spaces in one-line fields, other control characters
    /// are dropped. Outside a text field the paste is ignored, with a note.
    static func paste(_ s: inout AppState, _ text: String) -> [Effect] {
        s.message = nil
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\t", with: " ")
        let kept = String(normalized.unicodeScalars.filter { $0 == "\n" || !($0.properties.generalCategory == .control) }
            .map(Character.init))
        if s.view == .list, var input = s.list.input, s.spotCheck == nil, !s.showHelp {
            var line = kept.replacingOccurrences(of: "\n", with: " ")
            if input.purpose == .jump { line = line.filter(\.isNumber) }
            input.text += line
            s.list.input = input
            if input.purpose == .search {
                s.list.search = input.text
                return requery(&s)
            }
            return []
        }
        if s.view == .prompt, s.prompt.editing, s.spotCheck == nil, !s.showHelp {
            var p = s.prompt
            let pasted = kept.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let current = Array(p.lines[p.row])
            let column = min(p.column, current.count)
            let before = String(current[..<column]), after = String(current[column...])
            var replacement = pasted
            replacement[0] = before + replacement[0]
            p.column = replacement[replacement.count - 1].count
            replacement[replacement.count - 1] += after
            p.lines.replaceSubrange(p.row ... p.row, with: replacement)
            p.row += replacement.count - 1
            s.prompt = p
            return []
        }
        s.message = StatusMessage(text: "paste ignored: open a text field first (/ search, : jump, f filter, i prompt)",
                                  isError: false)
        return []
    }
}
