import FeaturescopeCore
import XCTest
@testable import TerminalUI

/// Seeded random key, mouse and resize sequences through every view: nothing may crash, every frame
/// must fill the screen exactly, and the cursor must stay in range.
final class RandomInputTests: XCTestCase {
    func testRandomSessionsNeverBreakTheScreen() async {
        let keys: [Key] = [.up, .down, .left, .right, .pageUp, .pageDown, .home, .end, .enter, .escape, .backspace, .tab, .backTab,
                           .char("1"), .char("2"), .char("3"), .char("4"), .char("5"), .char("6"), .char("j"), .char("k"), .char("/"),
                           .char(":"), .char("g"), .char("f"), .char(">"), .char("<"), .char("r"), .char("c"), .char("m"),
                           .char("w"), .char("x"), .char("P"), .char("i"), .char("v"), .char("y"), .char("n"), .char("e"),
                           .char("s"), .char("?"), .char("7"), .char("a"), .char("東"), .ctrl("j"), .ctrl("p"), .ctrl("n"), .delete]
        let sizes = [Size(width: 80, height: 24), Size(width: 120, height: 40), Size(width: 50, height: 12), Size(width: 30, height: 8)]
        for seed in 1...3 {
            var rng = SplitMix64(seed: UInt64(seed))
            var d = Driver(latents: 300)
            for step in 0..<250 {
                let roll = rng.next() % 20
                if roll == 0 {
                    await d.send(.resize(rng.pick(sizes)))
                } else if roll == 1 {
                    let kind = rng.pick([MouseEvent.Kind.press, .wheelUp, .wheelDown])
                    await d.send(.mouse(MouseEvent(kind: kind, x: Int(rng.next() % 120), y: Int(rng.next() % 40))))
                } else {
                    let k = rng.pick(keys)
                    if k == .char("q") { continue }
                    await d.send(.key(k))
                }
                XCTAssertFalse(d.state.quitting, "seed \(seed) step \(step)")
                let screen = d.render()
                for y in 0..<screen.size.height {
                    XCTAssertEqual(DisplayText.width(screen.rowText(y)), screen.size.width, "seed \(seed) step \(step) row \(y)")
                }
                XCTAssertTrue(d.state.rowCount == 0 || (0..<d.state.rowCount).contains(d.state.list.cursor))
            }
        }
    }
}

private extension SplitMix64 {
    /// An element drawn by modulo (the sequences these tests were written with).
    mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }
}
