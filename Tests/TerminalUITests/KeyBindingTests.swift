import XCTest
@testable import TerminalUI

final class KeyBindingTests: XCTestCase {
    func testDocsAreGeneratedFromTheTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/keybindings.md"), encoding: .utf8)
        XCTAssertEqual(doc, KeyBindings.markdown(),
                       "docs/keybindings.md is stale: run `featurescope browse --print-keybindings > docs/keybindings.md`")
    }

    func testNoKeyIsBoundTwiceInOneScope() {
        for scope in Scope.allCases {
            var seen: [Key: Action] = [:]
            for b in KeyBindings.table where b.scope == scope {
                for k in b.keys {
                    if let other = seen[k], other != b.action {
                        XCTFail("\(k.label) in \(scope) is bound to both \(other) and \(b.action)")
                    }
                    seen[k] = b.action
                }
            }
        }
    }

    func testDispatchPrefersTheViewScope() {
        var s = AppState(size: Size(width: 80, height: 24), parts: [PartInfo(hookName: "h", dSAE: 10)])
        XCTAssertEqual(KeyBindings.action(for: .char("c"), in: s), .clearFilters)
        s.view = .samples
        XCTAssertEqual(KeyBindings.action(for: .char("c"), in: s), .nextScorer)
        XCTAssertEqual(KeyBindings.action(for: .char("q"), in: s), .quit)
        s.showHelp = true
        XCTAssertEqual(KeyBindings.action(for: .escape, in: s), .help)
    }
}
