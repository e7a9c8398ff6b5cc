import Foundation

extension Update {
    /// `t` in the prompt view or a latent's detail: opens the steering panel on the focused latent, with the prompt
    /// view's prompt (or the last one run); with no prompt yet the prompt field opens for typing.
    static func openSteering(_ s: inout AppState) -> [Effect] {
        guard let ref = s.view == .detail ? (s.detail.ref ?? s.focusedLatent) : s.focusedLatent else {
            s.message = StatusMessage(text: "no latent selected", isError: true)
            return []
        }
        let promptText = s.prompt.run.value?.text ?? s.prompt.history.last ?? ""
        var panel = SteeringPanelState(part: ref.part, latents: [SteeringPanelLatent(latent: ref.latent, strength: SteeringPanelState.defaultStrength)],
                                       prompt: promptText)
        if promptText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            panel.field = .prompt
            panel.input = ""
        }
        s.steering = panel
        return [.loadSteerUnit(ref)]
    }

    /// Keys while the panel is open (nil: not handled here, e.g. quit and help).
    static func steeringAction(_ s: inout AppState, _ a: Action) -> [Effect]? {
        guard var p = s.steering, !s.showHelp else { return nil }
        switch a {
        case .quit, .help, .suspend: return nil
        case .accept:
            guard let field = p.field else { return [] }
            p.field = nil
            s.steering = p
            return acceptSteeringField(&s, field)
        case .cancel, .back:
            if p.field != nil {
                p.field = nil
                s.steering = p
                return []
            }
            if p.phase == .running { return stopSteering(&s) }
            s.steering = nil
            return []
        case .steer:
            s.steering = nil
            return p.phase == .running ? [.cancelSteer] : []
        case .up: p.cursor = max(0, p.cursor - 1)
        case .down: p.cursor = max(0, min(p.latents.count - 1, p.cursor + 1))
        case .strengthUp, .strengthDown:
            guard p.latents.indices.contains(p.cursor) else { return [] }
            var l = p.latents[p.cursor]
            let step = SteeringPanelState.strengthStep(l) * (a == .strengthUp ? 1 : -1)
            // Round to the step so repeated presses land on clean values.
            let next = ((l.strength + step) / abs(step)).rounded() * abs(step)
            l.strength = max(-SteeringPanelState.strengthLimit, min(SteeringPanelState.strengthLimit, next))
            p.latents[p.cursor] = l
        case .toggleSteerMode:
            p.mode = p.mode == .add ? .clamp : .add
        case .addSteerLatent:
            p.field = .latent
            p.input = ""
        case .editSteerPrompt:
            p.field = .prompt
            p.input = p.prompt
        case .removeSteerLatent:
            guard p.latents.indices.contains(p.cursor) else { return [] }
            p.latents.remove(at: p.cursor)
            p.generateWhenReady = false
            p.cursor = max(0, min(p.cursor, p.latents.count - 1))
        case .cycleTemperature:
            let t = SteeringPanelState.temperatures
            p.temperature = t[((t.firstIndex(of: p.temperature) ?? 0) + 1) % t.count]
        case .reseed:
            p.seed &+= 1
        case .toggleFreezeAttention:
            p.freezeAttention.toggle()
        case .moreTokens, .fewerTokens:
            p.maxTokens = SteeringPanelState.steppedMaxTokens(p.maxTokens, up: a == .moreTokens)
        case .open, .generate:
            s.steering = p
            return startSteering(&s)
        default:
            return []
        }
        s.steering = p
        return []
    }

    /// Typed keys while a panel field is open: the field's text (Enter/Esc come as actions).
    static func steeringInputKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        guard var p = s.steering, let field = p.field else { return [] }
        switch k {
        case let .char(c):
            if field == .latent && !c.isNumber { return [] }
            p.input.append(c)
        case .backspace, .ctrl("h"):
            if !p.input.isEmpty { p.input.removeLast() }
        case .ctrl("u"):
            p.input = ""
        default:
            return []
        }
        s.steering = p
        return []
    }

    static func acceptSteeringField(_ s: inout AppState, _ field: SteeringPanelState.Field) -> [Effect] {
        guard var p = s.steering else { return [] }
        let text = p.input.trimmingCharacters(in: .whitespaces)
        p.input = ""
        switch field {
        case .prompt:
            p.prompt = text
            s.steering = p
            return []
        case .latent:
            let count = s.parts.indices.contains(p.part) ? s.parts[p.part].latentCount : 0
            guard let latent = Int(text), latent >= 0, latent < count else {
                s.message = StatusMessage(text: "no latent '\(text)': the part has latents 0…\(max(0, count - 1))", isError: true)
                s.steering = p
                return []
            }
            if let i = p.latents.firstIndex(where: { $0.latent == latent }) {
                p.cursor = i
                s.steering = p
                return []
            }
            p.latents.append(SteeringPanelLatent(latent: latent, strength: SteeringPanelState.defaultStrength))
            p.cursor = p.latents.count - 1
            s.steering = p
            return [.loadSteerUnit(LatentRef(part: p.part, latent: latent))]
        }
    }

    /// Enter: generates default and steered continuations (a running one is replaced).
    static func startSteering(_ s: inout AppState) -> [Effect] {
        guard var p = s.steering else { return [] }
        guard !p.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            s.message = StatusMessage(text: "type a prompt first (p)", isError: false)
            return []
        }
        guard !p.latents.isEmpty else {
            s.message = StatusMessage(text: "add a latent first (a)", isError: false)
            return []
        }
        guard p.latents.allSatisfy(\.unitLoaded) else {
            // Starts as soon as the strength units are known.
            p.generateWhenReady = true
            s.steering = p
            s.message = StatusMessage(text: "reading the latents' max activations; generating next", isError: false)
            return []
        }
        p.generateWhenReady = false
        let wasRunning = p.phase == .running
        p.generation += 1
        p.phase = .running
        p.clearResults()
        p.lastRequest = p.request
        s.steering = p
        return (wasRunning ? [.cancelSteer] : []) + [.steer(p.request, generation: p.generation)]
    }

    /// Esc while generating: stops the run; what streamed so far stays.
    static func stopSteering(_ s: inout AppState) -> [Effect] {
        guard var p = s.steering, p.phase == .running else { return [] }
        p.generation += 1
        p.phase = .stopped
        s.steering = p
        s.message = StatusMessage(text: "steering stopped", isError: false)
        return [.cancelSteer]
    }

    static func steerUnitLoaded(_ s: inout AppState, _ ref: LatentRef, _ unit: Float?) -> [Effect] {
        guard var p = s.steering, p.part == ref.part else { return [] }
        for i in p.latents.indices where p.latents[i].latent == ref.latent && !p.latents[i].unitLoaded {
            p.latents[i].unitLoaded = true
            if let u = unit, u.isFinite, u > 0 { p.latents[i].unit = u }
        }
        s.steering = p
        if p.generateWhenReady, p.latents.allSatisfy(\.unitLoaded) { return startSteering(&s) }
        return []
    }

    static func steerEvent(_ s: inout AppState, generation: Int, _ e: SteerEvent) -> [Effect] {
        guard var p = s.steering, p.generation == generation, p.phase == .running else { return [] }
        switch e {
        case let .prompt(tokens): p.promptTokens = tokens
        case let .token(.default, t): p.defaultTokens.append(t)
        case let .token(.steered, t): p.steeredTokens.append(t)
        case let .token(.frozen, t): p.frozenTokens.append(t)
        case let .kl(stream, values, promptCount):
            // Element i is the distribution after tokens[0…i]; generated token j came from element promptCount − 1 + j.
            func perToken(_ tokens: [SteerToken]) -> [Double] {
                tokens.indices.map { j in
                    let i = promptCount - 1 + j
                    return values.indices.contains(i) ? values[i] : 0
                }
            }
            switch stream {
            case .steered: p.kl = perToken(p.steeredTokens)
            case .frozen: p.frozenKL = perToken(p.frozenTokens)
            case .default: break
            }
        }
        s.steering = p
        return []
    }

    static func steerFinished(_ s: inout AppState, generation: Int, error: BrowserError?) -> [Effect] {
        guard var p = s.steering, p.generation == generation, p.phase == .running else { return [] }
        p.phase = error.map { .failed($0.message) } ?? .done
        s.steering = p
        return []
    }
}
