import Foundation

/// A single-line progress bar with rate and ETA, written to standard error.
///
/// Redraws at most every 100 ms; when standard error is not a terminal it prints
/// a plain line every few seconds instead, so logs stay readable.
public final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let label: String
    private let unit: String
    private let start: Date
    private var lastDraw = Date.distantPast
    private let isTTY: Bool
    private let lock = NSLock()
    private var done: Int
    private let initial: Int
    /// When false nothing is printed (used with `--json` or `--quiet`).
    public var enabled: Bool

    /// - Parameters:
    ///   - total: the amount of work, in `unit`s.
    ///   - initial: work already done (a resumed job); it does not count towards the rate.
    public init(total: Int, label: String, unit: String = "it", initial: Int = 0, enabled: Bool = true) {
        self.total = max(total, 1)
        self.label = label
        self.unit = unit
        self.start = Date()
        self.done = initial
        self.initial = initial
        self.isTTY = isatty(2) == 1
        self.enabled = enabled
    }

    /// Sets the absolute amount of work done and redraws if due.
    public func update(_ value: Int, extra: String = "") {
        lock.lock(); defer { lock.unlock() }
        done = value
        draw(force: false, extra: extra)
    }

    /// Adds `n` units of finished work.
    public func advance(_ n: Int = 1, extra: String = "") {
        lock.lock(); defer { lock.unlock() }
        done += n
        draw(force: false, extra: extra)
    }

    /// Draws the final state and ends the line.
    public func finish(extra: String = "") {
        lock.lock(); defer { lock.unlock() }
        draw(force: true, extra: extra)
        if enabled && isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Work units per second since the bar was created (excluding resumed work).
    public var rate: Double {
        let dt = Date().timeIntervalSince(start)
        return dt > 0 ? Double(done - initial) / dt : 0
    }

    private func draw(force: Bool, extra: String) {
        guard enabled else { return }
        let now = Date()
        let interval = isTTY ? 0.1 : 5.0
        if !force && now.timeIntervalSince(lastDraw) < interval { return }
        lastDraw = now
        let frac = min(1, Double(done) / Double(total))
        let r = rate
        let eta = r > 0 ? Double(total - done) / r : .nan
        let width = 24
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        var line = "\(label) \(bar) \(String(format: "%5.1f%%", frac * 100)) \(done)/\(total) \(unit)"
        line += "  \(ProgressBar.formatRate(r)) \(unit)/s  ETA \(ProgressBar.formatDuration(eta))"
        if !extra.isEmpty { line += "  " + extra }
        if isTTY {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// "1.2k", "350", "3.4M".
    public static func formatRate(_ r: Double) -> String {
        if !r.isFinite { return "-" }
        if r >= 1e6 { return String(format: "%.1fM", r / 1e6) }
        if r >= 1e4 { return String(format: "%.1fk", r / 1e3) }
        if r >= 100 { return String(format: "%.0f", r) }
        return String(format: "%.2f", r)
    }

    /// "1h02m", "3m05s", "12s", "--".
    public static func formatDuration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--" }
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
        if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
        return "\(t)s"
    }
}
