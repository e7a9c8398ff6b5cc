import Foundation

/// Messages posted by background tasks, read by the runtime loop.
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [Msg] = []
    func post(_ m: Msg) { lock.withLock { messages.append(m) } }
    func drain() -> [Msg] { lock.withLock { let m = messages; messages = []; return m } }
}

/// Runs the browser: reads events from a backend, applies `Update.update`, performs effects as tasks whose
/// results come back as messages, and draws `Render.frame` after each batch. The UI never waits on slow work.
public final class BrowserRuntime {
    public let backend: TerminalBackend
    public let environment: BrowserEnvironment
    public private(set) var state: AppState
    private let inbox = Inbox()
    private var tasks: [Task<Void, Never>] = []
    /// The running list query; a newer one cancels it (typing a search starts one per key).
    private var rowsTask: Task<Void, Never>?
    /// Index builds run long; they are kept apart so the end of the session always cancels them.
    private var indexTasks: [Task<Void, Never>] = []
    /// Running explain/score jobs by id (Esc cancels one).
    private var actionTasks: [Int: Task<Void, Never>] = [:]
    /// The steering panel's running generation (Esc or a new run cancels it).
    private var steerTask: Task<Void, Never>?
    /// Called after every frame (the benchmark and tests use it).
    public var onFrame: ((Screen, AppState) -> Void)?
    /// Signal that ended the session, if any (the command exits with 128 + it).
    public private(set) var exitSignal: Int32?

    public init(backend: TerminalBackend, environment: BrowserEnvironment, state: AppState? = nil) {
        self.backend = backend
        self.environment = environment
        self.state = state ?? environment.initialState(size: backend.size)
    }

    /// Runs until the user quits or a terminating signal arrives. The terminal is restored on every path.
    public func run() throws {
        try backend.start()
        defer {
            for t in tasks + indexTasks + Array(actionTasks.values) + [steerTask].compactMap({ $0 }) { t.cancel() }
            backend.stop()
        }
        state.size = backend.size
        var effects = Update.start(&state)
        var dirty = true
        while !state.quitting {
            if handle(effects) { break }
            effects = []
            if dirty {
                let screen = Render.frame(state, data: environment.data)
                backend.draw(screen)
                onFrame?(screen, state)
                dirty = false
            }
            // Tick the spinner while work is running; otherwise sleep until input or a result.
            let timeout: Duration? = state.isBusy ? .milliseconds(100) : nil
            let event = backend.nextEvent(timeout: timeout)
            var msgs: [Msg] = []
            switch event {
            case let .key(k)?: msgs.append(.key(k))
            case let .mouse(m)?: msgs.append(.mouse(m))
            case let .resize(sz)?: msgs.append(.resize(sz))
            case let .paste(text)?: msgs.append(.paste(text))
            case let .signal(sig)?:
                exitSignal = sig
                msgs.append(.terminate(signal: sig))
            case .wake?: break
            case nil: if state.isBusy { msgs.append(.tick) }
            }
            msgs += inbox.drain()
            for m in msgs {
                effects += Update.update(&state, m)
                dirty = true
            }
        }
    }

    /// Starts effects; returns true when the loop must end.
    private func handle(_ effects: [Effect]) -> Bool {
        for e in effects {
            switch e {
            case .quit:
                state.quitting = true
                return true
            case .suspend:
                backend.suspend()
                state.size = backend.size
            case let .cancelAction(id):
                actionTasks.removeValue(forKey: id)?.cancel()
            case .cancelSteer:
                steerTask?.cancel()
                steerTask = nil
            default:
                let env = environment
                let inbox = self.inbox
                let waker = backend.waker
                tasks.removeAll { $0.isCancelled }
                let task = Task.detached {
                    await EffectPerformer.perform(e, env: env) { msg in
                        inbox.post(msg)
                        waker.wake()
                    }
                }
                if case .buildTokenIndex = e {
                    indexTasks.append(task)
                    continue
                }
                if case .steer = e {
                    steerTask?.cancel()
                    steerTask = task
                    continue
                }
                if case let .runAction(_, _, id) = e {
                    actionTasks = actionTasks.filter { !$0.value.isCancelled }
                    actionTasks[id] = task
                    continue
                }
                tasks.append(task)
                if case .computeRows = e {
                    rowsTask?.cancel()
                    rowsTask = task
                }
                if tasks.count > 64 { tasks.removeFirst(tasks.count - 64) }
            }
        }
        return false
    }
}
