import Foundation
import XCTest

/// Package.swift is the import graph: each target's declared dependencies are exactly the modules its
/// sources import (system modules aside), so the compiler enforces the layering docs/architecture.md draws.
final class ManifestTests: XCTestCase {
    /// Modules that come with the toolchain, never declared.
    static let systemModules: Set<String> = [
        "Foundation", "FoundationNetworking", "FoundationEssentials", "Dispatch", "XCTest", "Glibc", "Musl", "Darwin",
        "Synchronization", "Testing", "os",
    ]

    static var packageRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        return url
    }

    /// Target name → (kind, declared dependency module names), parsed from the manifest text.
    static func declaredTargets(_ manifest: String) -> [String: (kind: String, deps: Set<String>)] {
        var out: [String: (String, Set<String>)] = [:]
        let pattern = #"\.(target|executableTarget|testTarget)\(\s*name:\s*"([A-Za-z0-9_]+)"(?:\s*,\s*dependencies:\s*\[([^\]]*)\])?"#
        let regex = try! NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators])
        let ns = manifest as NSString
        for m in regex.matches(in: manifest, range: NSRange(location: 0, length: ns.length)) {
            let kind = ns.substring(with: m.range(at: 1))
            let name = ns.substring(with: m.range(at: 2))
            var deps = Set<String>()
            if m.range(at: 3).location != NSNotFound {
                let list = ns.substring(with: m.range(at: 3))
                let item = try! NSRegularExpression(pattern: #"\.product\(\s*name:\s*"([A-Za-z0-9_]+)"|"([A-Za-z0-9_]+)""#)
                let ls = list as NSString
                for d in item.matches(in: list, range: NSRange(location: 0, length: ls.length)) {
                    if d.range(at: 1).location != NSNotFound {
                        deps.insert(ls.substring(with: d.range(at: 1)))
                        continue  // the package: argument's string is not a module
                    }
                    deps.insert(ls.substring(with: d.range(at: 2)))
                }
                // `.product(name: X, package: "p")`: drop the package string the second alternative also matched.
                let packages = try! NSRegularExpression(pattern: #"package:\s*"([A-Za-z0-9_.-]+)""#)
                for p in packages.matches(in: list, range: NSRange(location: 0, length: ls.length)) {
                    deps.remove(ls.substring(with: p.range(at: 1)))
                }
            }
            out[name] = (kind, deps)
        }
        return out
    }

    /// Modules imported by the Swift files under `folder`.
    static func imports(in folder: URL) -> Set<String> {
        var found = Set<String>()
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return found }
        let regex = try! NSRegularExpression(pattern: #"^\s*(?:@testable\s+|@_exported\s+|@preconcurrency\s+)*import\s+(?:(?:struct|class|enum|func|protocol)\s+)?([A-Za-z0-9_]+)"#,
                                             options: [.anchorsMatchLines])
        for case let url as URL in files where url.pathExtension == "swift" {
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            let ns = text as NSString
            for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                found.insert(ns.substring(with: m.range(at: 1)))
            }
        }
        return found.subtracting(systemModules)
    }

    /// Every declared dependency that is not imported, and every import that is not declared, per target.
    static func drift(root: URL, manifest: String) -> [String] {
        var problems: [String] = []
        for (name, (kind, deps)) in declaredTargets(manifest).sorted(by: { $0.key < $1.key }) {
            let folder = root.appendingPathComponent(kind == "testTarget" ? "Tests" : "Sources").appendingPathComponent(name)
            let used = imports(in: folder).subtracting([name])
            for d in deps.subtracting(used).sorted() { problems.append("\(name) declares \(d) but never imports it") }
            for i in used.subtracting(deps).sorted() { problems.append("\(name) imports \(i) but does not declare it") }
        }
        return problems
    }

    func testDependenciesAreExactlyTheImports() throws {
        let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let targets = Self.declaredTargets(manifest)
        XCTAssertGreaterThan(targets.count, 20, "the manifest parser found \(targets.count) targets")
        XCTAssertEqual(Self.drift(root: Self.packageRoot, manifest: manifest), [])
    }

    /// The check itself fails when a dependency nobody imports is added.
    func testAnUnusedDependencyIsReported() throws {
        let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let edited = manifest.replacingOccurrences(of: #".target(name: "CursesTerminal", dependencies: ["TerminalUI", "CNcursesw"]"#,
                                                   with: #".target(name: "CursesTerminal", dependencies: ["TerminalUI", "CNcursesw", "CBLAS"]"#)
        XCTAssertNotEqual(edited, manifest, "the CursesTerminal line changed shape; update this test")
        XCTAssertTrue(Self.drift(root: Self.packageRoot, manifest: edited).contains("CursesTerminal declares CBLAS but never imports it"))
    }
}
