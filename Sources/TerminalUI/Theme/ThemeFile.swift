import Foundation

/// Errors reading a theme file or choosing a theme.
public enum ThemeError: Error, CustomStringConvertible, Equatable {
    case unknownRole(line: Int, name: String)
    case badColour(line: Int, value: String)
    case badAttribute(line: Int, value: String)
    case missingRoles([String])
    case notFound(name: String, searched: [String])
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownRole(line, name):
            return "theme line \(line): unknown role '\(name)' (roles: \(Role.allCases.map(\.rawValue).joined(separator: " ")))"
        case let .badColour(line, value):
            return "theme line \(line): bad colour '\(value)' (expected #rrggbb or default)"
        case let .badAttribute(line, value):
            return "theme line \(line): unknown attribute '\(value)' (expected bold, underline, reverse, fg=, bg=, mono=)"
        case let .missingRoles(names):
            return "theme is missing roles: \(names.joined(separator: ", "))"
        case let .notFound(name, searched):
            return "no theme named '\(name)' (built in: \(BuiltinThemes.names.joined(separator: ", ")); also looked in \(searched.joined(separator: ", ")))"
        case let .unreadable(path, reason):
            return "cannot read theme file \(path): \(reason)"
        }
    }
}

/// Reads and finds theme files (`themes/NAME.theme`, one role per line).
public enum ThemeFile {
    /// Parses theme text. Every role must be present.
    public static func parse(_ text: String, defaultName: String = "custom") throws -> Theme {
        var name = defaultName
        var roles: [Role: RoleStyle] = [:]
        for (i, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            // '#' also starts colours, so only a line starting with '#' is a comment.
            let content = rawLine.trimmingCharacters(in: .whitespaces).hasPrefix("#") ? "" : String(rawLine)
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("name:") {
                name = trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces)
                continue
            }
            let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first, let role = Role(rawValue: first) else {
                throw ThemeError.unknownRole(line: lineNo, name: words.first ?? trimmed)
            }
            var rs = RoleStyle()
            for w in words.dropFirst() {
                if w.hasPrefix("fg=") { rs.fg = try colour(String(w.dropFirst(3)), line: lineNo) }
                else if w.hasPrefix("bg=") { rs.bg = try colour(String(w.dropFirst(3)), line: lineNo) }
                else if w.hasPrefix("mono=") {
                    for a in w.dropFirst(5).split(separator: ",") {
                        switch a {
                        case "bold": rs.mono.bold = true
                        case "underline": rs.mono.underline = true
                        case "reverse": rs.mono.reverse = true
                        case "none": break
                        default: throw ThemeError.badAttribute(line: lineNo, value: String(a))
                        }
                    }
                } else {
                    switch w {
                    case "bold": rs.bold = true
                    case "underline": rs.underline = true
                    case "reverse": rs.reverse = true
                    default: throw ThemeError.badAttribute(line: lineNo, value: w)
                    }
                }
            }
            roles[role] = rs
        }
        let missing = Role.allCases.filter { roles[$0] == nil }.map(\.rawValue)
        if !missing.isEmpty { throw ThemeError.missingRoles(missing) }
        return Theme(name: name, roles: roles)
    }

    static func colour(_ s: String, line: Int) throws -> ThemeColor {
        if s == "default" { return .terminalDefault }
        guard s.count == 7, s.hasPrefix("#"), let v = UInt32(s.dropFirst(), radix: 16) else {
            throw ThemeError.badColour(line: line, value: s)
        }
        return .rgb(UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
    }

    /// Folders searched for `NAME.theme`: `$XDG_CONFIG_HOME/featurescope/themes` (or ~/.config/…), then ./themes.
    public static func searchFolders(environment: [String: String]) -> [String] {
        var out: [String] = []
        if let x = environment["XDG_CONFIG_HOME"], !x.isEmpty { out.append(x + "/featurescope/themes") }
        else if let h = environment["HOME"], !h.isEmpty { out.append(h + "/.config/featurescope/themes") }
        out.append(FileManager.default.currentDirectoryPath + "/themes")
        return out
    }

    /// The config file `featurescope/config` under XDG_CONFIG_HOME or ~/.config; lines `key = value`.
    public static func configFile(environment: [String: String]) -> String? {
        if let x = environment["XDG_CONFIG_HOME"], !x.isEmpty { return x + "/featurescope/config" }
        if let h = environment["HOME"], !h.isEmpty { return h + "/.config/featurescope/config" }
        return nil
    }

    /// The theme named in the config file (`theme = NAME`), if any.
    public static func configuredThemeName(environment: [String: String]) -> String? {
        guard let path = configFile(environment: environment),
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "theme", !parts[1].isEmpty { return parts[1] }
        }
        return nil
    }

    /// Finds a theme: a path to a file, a file in the search folders, or a built-in name.
    /// With no name, uses the config file's theme, else "dark".
    public static func load(name: String?, environment: [String: String]) throws -> Theme {
        let wanted = name ?? configuredThemeName(environment: environment) ?? "dark"
        if wanted.contains("/") || wanted.hasSuffix(".theme") {
            return try read(path: wanted)
        }
        let folders = searchFolders(environment: environment)
        for f in folders {
            let p = f + "/" + wanted + ".theme"
            if FileManager.default.fileExists(atPath: p) { return try read(path: p) }
        }
        if let b = BuiltinThemes.named(wanted) { return b }
        throw ThemeError.notFound(name: wanted, searched: folders)
    }

    static func read(path: String) throws -> Theme {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ThemeError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        let base = (path as NSString).lastPathComponent.replacingOccurrences(of: ".theme", with: "")
        return try parse(text, defaultName: base)
    }
}
