/// The terminal browser, as a pure core that needs no terminal.
///
/// How it fits together (the bubbletea/ratatui shape):
/// - `AppState` (a value) holds everything on screen; `Msg` is everything that can happen (keys, mouse,
///   resize, ticks, results of background work).
/// - `Update.update(&state, msg) -> [Effect]` changes the state and returns slow work as `Effect`s; it does no I/O.
/// - `BrowserRuntime` reads events from a `TerminalBackend`, runs effects as tasks (`EffectPerformer`), feeds their
///   results back as messages, and draws `Render.frame(state, data:)` — an in-memory `Screen` of cells whose
///   styles are semantic `Role`s; a `Theme` maps roles to colours per `ColorDepth`.
/// - Every string reaches the screen through `DisplayText` (sanitising + display width + `…` truncation).
/// - `KeyBindings.table` drives dispatch, the `?` overlay, the status hints and docs/keybindings.md.
///
/// Plugging in real data: implement `BrowserDataSource` (a few calls into the latent cache; `summary` must be
/// cheap), optionally `PromptEngine` (model + SAE on arbitrary text) and `ActionRunner` (explain/score jobs),
/// put them in a `BrowserEnvironment`, and call `CursesBrowser.run(environment:theme:noColor:)` from the
/// CursesTerminal module. `SyntheticBrowserData`, `SyntheticPromptEngine` and `SyntheticActionRunner` are the
/// reference implementations used by tests, the benchmark and `featurescope browse --demo N`.
public enum TerminalUIOverview {}
