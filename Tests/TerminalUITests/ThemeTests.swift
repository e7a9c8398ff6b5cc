import XCTest
@testable import TerminalUI

final class ThemeTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testThemeFilesMatchTheBuiltInCopiesAndDefineEveryRole() throws {
        for name in BuiltinThemes.names {
            let url = Self.repoRoot.appendingPathComponent("themes/\(name).theme")
            let text = try String(contentsOf: url, encoding: .utf8)
            XCTAssertEqual(text.trimmingCharacters(in: .newlines), BuiltinThemes.source[name]?.trimmingCharacters(in: .newlines),
                           "themes/\(name).theme differs from BuiltinThemes.swift")
            let theme = try ThemeFile.parse(text, defaultName: name)
            XCTAssertEqual(theme.name, name)
            XCTAssertEqual(Set(theme.roles.keys), Set(Role.allCases))
        }
    }

    func testActivationRampStaysReadableWithoutColour() throws {
        for name in BuiltinThemes.names {
            let theme = try XCTUnwrap(BuiltinThemes.named(name))
            let looks = Role.heatRamp.map { r in theme.resolve(Style(fg: r, bg: r), depth: .monochrome) }
            for l in looks {
                XCTAssertEqual(l.fg, .terminalDefault)
                XCTAssertEqual(l.bg, .terminalDefault)
                XCTAssertTrue(l.bold || l.underline || l.reverse, "\(name): every ramp level is marked without colour")
            }
            XCTAssertNotEqual(looks.first, looks.last, "\(name): weak and strong activations look different without colour")
            let plain = theme.resolve(.plain, depth: .monochrome)
            XCTAssertFalse(plain.bold || plain.underline || plain.reverse)
            // With colour, the strongest level differs from the weakest in colour too.
            let c1 = theme.resolve(Style(fg: .heat1, bg: .heat1), depth: .truecolor)
            let c5 = theme.resolve(Style(fg: .heat5, bg: .heat5), depth: .truecolor)
            XCTAssertNotEqual(c1.bg, c5.bg)
        }
    }

    func testRampLevelsStayDistinctIn256And8Colours() throws {
        for name in BuiltinThemes.names {
            let theme = try XCTUnwrap(BuiltinThemes.named(name))
            let in256 = Role.heatRamp.map { theme.resolve(Style(fg: $0, bg: $0), depth: .xterm256) }
            XCTAssertEqual(Set(in256).count, 5, "\(name): ramp levels look alike in 256 colours")
            let in8 = Role.heatRamp.map { theme.resolve(Style(fg: $0, bg: $0), depth: .ansi8) }
            XCTAssertGreaterThanOrEqual(Set(in8).count, 3, "\(name): 8 colours + attributes keep the ramp readable")
        }
    }

    func testColourDepthDetection() {
        XCTAssertEqual(ColorDepth.detect(environment: ["NO_COLOR": "1", "COLORTERM": "truecolor"], terminalColors: 256, noColor: false), .monochrome)
        XCTAssertEqual(ColorDepth.detect(environment: [:], terminalColors: 256, noColor: true), .monochrome)
        XCTAssertEqual(ColorDepth.detect(environment: ["COLORTERM": "truecolor"], terminalColors: 256, noColor: false), .truecolor)
        XCTAssertEqual(ColorDepth.detect(environment: ["COLORTERM": "24bit"], terminalColors: 8, noColor: false), .truecolor)
        XCTAssertEqual(ColorDepth.detect(environment: [:], terminalColors: 256, noColor: false), .xterm256)
        XCTAssertEqual(ColorDepth.detect(environment: [:], terminalColors: 8, noColor: false), .ansi8)
        XCTAssertEqual(ColorDepth.detect(environment: [:], terminalColors: 0, noColor: false), .monochrome)
    }

    func testPaletteConversion() {
        XCTAssertEqual(Theme.nearest256(0, 0, 0), 16)
        XCTAssertEqual(Theme.nearest256(255, 255, 255), 231)
        XCTAssertEqual(Theme.nearest256(255, 0, 0), 196)
        XCTAssertEqual(Theme.nearest256(128, 128, 128), 244)
        XCTAssertEqual(Theme.nearest8(250, 10, 10), 1)
        XCTAssertEqual(Theme.convert(.rgb(1, 2, 3), .truecolor), .rgb(1, 2, 3))
        XCTAssertEqual(Theme.convert(.terminalDefault, .xterm256), .terminalDefault)
    }

    func testParseErrorsNameTheLine() {
        XCTAssertThrowsError(try ThemeFile.parse("name: x\nglow fg=#ffffff")) { e in
            XCTAssertEqual(e as? ThemeError, .unknownRole(line: 2, name: "glow"))
        }
        XCTAssertThrowsError(try ThemeFile.parse("text fg=#12345")) { e in
            XCTAssertEqual(e as? ThemeError, .badColour(line: 1, value: "#12345"))
        }
        XCTAssertThrowsError(try ThemeFile.parse("text fg=#123456 sparkle")) { e in
            XCTAssertEqual(e as? ThemeError, .badAttribute(line: 1, value: "sparkle"))
        }
        XCTAssertThrowsError(try ThemeFile.parse("text fg=#123456")) { e in
            guard case let .missingRoles(r)? = e as? ThemeError else { return XCTFail("\(e)") }
            XCTAssertTrue(r.contains("heat5"))
        }
        XCTAssertThrowsError(try ThemeFile.load(name: "no-such-theme", environment: [:])) { e in
            XCTAssertTrue("\(e)".contains("no theme named 'no-such-theme'"))
        }
    }

    func testConfigFileChoosesTheTheme() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-theme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("featurescope"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "# my settings\ntheme = light\n".write(to: dir.appendingPathComponent("featurescope/config"), atomically: true, encoding: .utf8)
        let theme = try ThemeFile.load(name: nil, environment: ["XDG_CONFIG_HOME": dir.path])
        XCTAssertEqual(theme.name, "light")
        XCTAssertEqual(try ThemeFile.load(name: "high-contrast", environment: ["XDG_CONFIG_HOME": dir.path]).name, "high-contrast")
    }
}
