import Foundation

extension Update {
    // MARK: - Editor

    static func editorKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        var p = s.prompt
        func line() -> [Character] { Array(p.lines[p.row]) }
        switch k {
        case let .char(c):
            var l = line()
            l.insert(c, at: min(p.column, l.count))
            p.lines[p.row] = String(l)
            p.column += 1
        case .backspace, .ctrl("h"):
            if p.column > 0 {
                var l = line()
                l.remove(at: min(p.column, l.count) - 1)
                p.lines[p.row] = String(l)
                p.column -= 1
            } else if p.row > 0 {
                let prevCount = p.lines[p.row - 1].count
                p.lines[p.row - 1] += p.lines[p.row]
                p.lines.remove(at: p.row)
                p.row -= 1
                p.column = prevCount
            }
        case .delete:
            var l = line()
            if p.column < l.count {
                l.remove(at: p.column)
                p.lines[p.row] = String(l)
            } else if p.row + 1 < p.lines.count {
                p.lines[p.row] += p.lines[p.row + 1]
                p.lines.remove(at: p.row + 1)
            }
        case .left:
            if p.column > 0 { p.column -= 1 } else if p.row > 0 { p.row -= 1; p.column = p.lines[p.row].count }
        case .right:
            if p.column < line().count { p.column += 1 } else if p.row + 1 < p.lines.count { p.row += 1; p.column = 0 }
        case .up:
            if p.row > 0 { p.row -= 1; p.column = min(p.column, p.lines[p.row].count) }
            else { s.prompt = p; return perform(&s, .historyPrevious) }
        case .down:
            if p.row + 1 < p.lines.count { p.row += 1; p.column = min(p.column, p.lines[p.row].count) }
            else { s.prompt = p; return perform(&s, .historyNext) }
        case .home, .ctrl("a"): p.column = 0
        case .end, .ctrl("e"): p.column = line().count
        case .ctrl("u"):
            p.lines[p.row] = String(line().suffix(from: min(p.column, line().count)))
            p.column = 0
        case .tab: return perform(&s, .nextView)
        case .backTab: return perform(&s, .previousView)
        default: return []
        }
        s.prompt = p
        return []
    }

    // MARK: - Prompt actions

    static func promptAction(_ s: inout AppState, _ a: Action) -> [Effect] {
        switch a {
        case .newline:
            var p = s.prompt
            let l = Array(p.lines[p.row])
            let c = min(p.column, l.count)
            p.lines[p.row] = String(l[..<c])
            p.lines.insert(String(l[c...]), at: p.row + 1)
            p.row += 1
            p.column = 0
            s.prompt = p
            return []
        case .runPrompt:
            let text = s.prompt.text
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                s.message = StatusMessage(text: "type some text first", isError: false)
                return []
            }
            if s.prompt.history.last != text { s.prompt.history.append(text) }
            if s.prompt.history.count > 100 { s.prompt.history.removeFirst() }
            s.prompt.historyIndex = nil
            s.prompt.generation += 1
            s.prompt.run = .loading
            s.prompt.trace = .idle
            s.prompt.editing = false
            s.prompt.token = 0
            s.prompt.latentCursor = 0
            return [.runPrompt(text: text, part: s.part, generation: s.prompt.generation)]
        case .historyPrevious, .historyNext:
            let h = s.prompt.history
            guard !h.isEmpty else { return [] }
            var i = s.prompt.historyIndex ?? h.count
            i += a == .historyPrevious ? -1 : 1
            if i >= h.count {
                s.prompt.historyIndex = nil
                setEditorText(&s, "")
                return []
            }
            i = max(0, i)
            s.prompt.historyIndex = i
            setEditorText(&s, h[i])
            return []
        case .cancel:
            s.prompt.editing = false
            return []
        case .editPrompt:
            s.prompt.editing = true
            return []
        case .left, .right, .top, .bottom:
            guard let run = s.prompt.run.value, !run.tokens.isEmpty else { return [] }
            switch a {
            case .left: s.prompt.token = max(0, s.prompt.token - 1)
            case .right: s.prompt.token = min(run.tokens.count - 1, s.prompt.token + 1)
            case .top: s.prompt.token = 0
            default: s.prompt.token = run.tokens.count - 1
            }
            s.prompt.latentCursor = 0
            return traceSelected(&s)
        case .up, .down:
            guard let run = s.prompt.run.value, run.topLatents.indices.contains(s.prompt.token) else { return [] }
            let n = run.topLatents[s.prompt.token].count
            s.prompt.latentCursor = max(0, min(n - 1, s.prompt.latentCursor + (a == .up ? -1 : 1)))
            return traceSelected(&s)
        case .open:
            guard let ref = s.focusedLatent else { return [] }
            return openDetail(&s, ref)
        case .toggleAttention:
            guard s.prompt.run.value != nil else { return [] }
            guard s.prompt.run.value?.attention != nil else {
                s.message = StatusMessage(text: "this run has no attention patterns (the engine did not capture them)", isError: false)
                return []
            }
            s.prompt.showAttention.toggle()
            return []
        case .nextHead, .previousHead, .nextLayer, .previousLayer:
            guard let att = s.prompt.run.value?.attention else { return [] }
            if !s.prompt.showAttention { s.prompt.showAttention = true; return [] }
            switch a {
            case .nextHead: s.prompt.attentionHead = min(att.headCount - 1, s.prompt.attentionHead + 1)
            case .previousHead: s.prompt.attentionHead = max(0, s.prompt.attentionHead - 1)
            case .nextLayer: s.prompt.attentionLayer = min(att.layers.count - 1, s.prompt.attentionLayer + 1)
            default: s.prompt.attentionLayer = max(0, s.prompt.attentionLayer - 1)
            }
            return []
        default:
            return []
        }
    }

    static func setEditorText(_ s: inout AppState, _ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        s.prompt.lines = lines.isEmpty ? [""] : lines
        s.prompt.row = s.prompt.lines.count - 1
        s.prompt.column = s.prompt.lines[s.prompt.row].count
    }

    /// Traces the selected latent of the selected token across the prompt (background).
    static func traceSelected(_ s: inout AppState) -> [Effect] {
        guard let run = s.prompt.run.value, run.topLatents.indices.contains(s.prompt.token),
              run.topLatents[s.prompt.token].indices.contains(s.prompt.latentCursor) else { return [] }
        let latent = run.topLatents[s.prompt.token][s.prompt.latentCursor].latent
        s.prompt.traceGeneration += 1
        s.prompt.trace = .loading
        return [.trace(run, latent: latent, token: s.prompt.token, generation: s.prompt.traceGeneration)]
    }
}
