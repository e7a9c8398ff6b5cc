import FeaturescopeCore
import Foundation

/// One document of natural text to be tokenized.
public struct CorpusDocument: Equatable, Sendable {
    public var text: String
    /// Where it came from: the `source` field of a `.jsonl` line, else the input path.
    public var source: String
    /// Its name: the `title` field of a `.jsonl` line, else the file path (plus line number for `.jsonl`).
    public var title: String

    public init(text: String, source: String, title: String) {
        self.text = text
        self.source = source
        self.title = title
    }
}

/// One input file found under the paths given to the packer.
public struct CorpusInputFile: Equatable, Sendable {
    public enum Kind: String, Sendable { case plainText, jsonLines }
    public var path: String
    public var kind: Kind
    /// The path shown as source/title for plain text files (relative to a folder input).
    public var displayName: String
    public var byteCount: Int
}

/// Reads corpus inputs: plain `.txt` files (one document each), folders of them
/// (searched recursively, in sorted path order), and `.jsonl` files (one JSON
/// object per line holding the text in a chosen field).
public enum CorpusReader {
    /// Expands input paths into files, in a deterministic order.
    public static func inputFiles(_ paths: [String]) throws -> [CorpusInputFile] {
        var files: [CorpusInputFile] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                throw CorpusError.cannotRead(path: path, reason: "no such file or folder")
            }
            if isDir.boolValue {
                guard let walker = fm.enumerator(atPath: path) else {
                    throw CorpusError.cannotRead(path: path, reason: "cannot list the folder")
                }
                var found: [String] = []
                while let rel = walker.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { continue }
                    if kind(of: rel) != nil { found.append(rel) }
                }
                for rel in found.sorted() {
                    let full = (path as NSString).appendingPathComponent(rel)
                    var sub: ObjCBool = false
                    guard fm.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue, let k = kind(of: rel) else { continue }
                    files.append(CorpusInputFile(path: full, kind: k, displayName: rel, byteCount: try size(of: full)))
                }
            } else {
                guard let k = kind(of: path) else { throw CorpusError.unsupportedInput(path: path) }
                files.append(CorpusInputFile(path: path, kind: k, displayName: (path as NSString).lastPathComponent,
                                             byteCount: try size(of: path)))
            }
        }
        return files
    }

    /// Calls `body` for each document of `file` with the number of input bytes it
    /// consumed; `body` returns false to stop early.
    public static func forEachDocument(in file: CorpusInputFile, textField: String = "text",
                                       _ body: (CorpusDocument, Int) throws -> Bool) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file.path), options: .alwaysMapped)
        } catch {
            throw CorpusError.cannotRead(path: file.path, reason: error.localizedDescription)
        }
        switch file.kind {
        case .plainText:
            guard let text = String(data: data, encoding: .utf8) else {
                throw CorpusError.cannotRead(path: file.path, reason: "not valid UTF-8")
            }
            _ = try body(CorpusDocument(text: text, source: file.displayName, title: file.displayName), data.count)
        case .jsonLines:
            try forEachJSONLine(data, path: file.path, name: file.displayName, textField: textField, body)
        }
    }

    /// Parses JSON Lines from `data`: blank lines are skipped; every other line must
    /// be an object whose `textField` is a string. Errors name the file and line.
    static func forEachJSONLine(_ data: Data, path: String, name: String, textField: String,
                                _ body: (CorpusDocument, Int) throws -> Bool) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lineStart = 0
            var lineNumber = 0
            while lineStart < bytes.count {
                lineNumber += 1
                var lineEnd = lineStart
                while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
                let consumed = min(lineEnd + 1, bytes.count) - lineStart
                let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
                lineStart = lineEnd + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    continue
                }
                let object: Any
                do {
                    object = try JSONSerialization.jsonObject(with: Data(buffer: line), options: [])
                } catch {
                    throw CorpusError.badJSONLine(path: path, line: lineNumber, reason: jsonReason(error))
                }
                guard let dict = object as? [String: Any] else {
                    throw CorpusError.badJSONLine(path: path, line: lineNumber, reason: "the line is JSON but not an object")
                }
                guard let text = dict[textField] as? String else {
                    throw CorpusError.missingTextField(path: path, line: lineNumber, field: textField)
                }
                let source = (dict["source"] as? String) ?? name
                let title = (dict["title"] as? String) ?? "\(name):\(lineNumber)"
                if try !body(CorpusDocument(text: text, source: source, title: title), consumed) { return }
            }
        }
    }

    private static func kind(of path: String) -> CorpusInputFile.Kind? {
        switch (path as NSString).pathExtension.lowercased() {
        case "txt": return .plainText
        case "jsonl": return .jsonLines
        default: return nil
        }
    }

    private static func size(of path: String) throws -> Int {
        do {
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            return (attrs[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw CorpusError.cannotRead(path: path, reason: error.localizedDescription)
        }
    }

    private static func jsonReason(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return ns.localizedDescription
    }
}

/// Deterministic assignment of documents to the training or held-out split.
///
/// A document is held out when `hash(source, title)`, mapped to [0, 1), is below
/// the held-out fraction. The hash is 64-bit FNV-1a over the UTF-8 bytes of
/// `source`, a 0x1F separator and `title`, passed through the SplitMix64
/// finaliser. The choice depends only on the document's own names, so adding
/// or removing other documents never moves a document between splits.
public enum HeldOutSplit {
    /// True when the document belongs to the held-out split.
    public static func isHeldOut(source: String, title: String, fraction: Double) -> Bool {
        guard fraction > 0 else { return false }
        guard fraction < 1 else { return true }
        return unitValue(source: source, title: title) < fraction
    }

    /// The document's position in [0, 1).
    public static func unitValue(source: String, title: String) -> Double {
        let h = FNV1a.hash(title.utf8, seed: FNV1a.step(FNV1a.hash(source.utf8), 0x1F))
        // The FNV-1a hash, mixed by the project's seeded generator (its first output).
        var g = SplitMix64(seed: h)
        return g.unit()
    }
}
