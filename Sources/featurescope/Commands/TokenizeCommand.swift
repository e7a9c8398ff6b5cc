import ArgumentParser
import FeaturescopeCore
import Foundation
import ModelEngine
import TensorFormats

/// `featurescope tokenize`: shows how the model's tokenizer splits text.
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids and pieces of text (the model's tokenizer, identical to llama.cpp's or the tokenizers library's).",
        discussion: """
        With TEXT, tokenizes it; without, tokenizes all of standard input.
        --jsonl reads one JSON string per line from standard input and prints one JSON array of ids per line.
        Special-token text such as <|im_start|> becomes one token unless --no-special.
        """
    )

    @Argument(help: "The text to tokenize (standard input when omitted).")
    var text: String?

    @Flag(help: "Read one JSON string per line from standard input; print one JSON array of ids per line.")
    var jsonl = false

    @Flag(help: "Print one JSON object: ids and, per token, its id, text and bytes.")
    var json = false

    @Option(help: "Model whose tokenizer to use: a GGUF file, a Hugging Face folder or a registered name (default: $FEATURESCOPE_MODEL, else smollm2-135m-instruct).")
    var model: String?

    @Flag(help: "Show spaces, newlines and tabs as ·, ↵ and ⇥.")
    var showWhitespace = false

    @Flag(name: .customLong("no-special"), help: "Tokenize special-token text (<|im_end|>…) as plain text.")
    var noSpecial = false

    @Flag(help: "Print to standard error how many bytes and tokens were encoded and how fast.")
    var stats = false

    func validate() throws {
        if jsonl && text != nil { throw ValidationError("--jsonl reads standard input; do not pass TEXT as well") }
        if jsonl && json { throw ValidationError("choose one of --jsonl and --json") }
    }

    func run() async throws {
        let tokenizer = try Tokenizer(modelAt: try Self.resolveModelPath(model))
        if jsonl {
            try encodeJSONLines(tokenizer)
            return
        }
        let input: String
        if let text {
            input = text
        } else {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            input = String(decoding: data, as: UTF8.self)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let ids = tokenizer.encode(input, parseSpecial: !noSpecial)
        if stats { Self.printStats(bytes: input.utf8.count, tokens: ids.count, elapsed: clock.now - started) }
        if json {
            print(jsonReport(tokenizer, ids))
        } else {
            print(humanReport(tokenizer, ids, byteCount: input.utf8.count))
        }
    }

    /// Throughput of the encoding alone, on standard error.
    static func printStats(bytes: Int, tokens: Int, elapsed: Duration) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let rate = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
        let line = String(format: "encoded %d bytes into %d tokens in %.3f s (%.2f MB/s, %.2f bytes/token)\n",
                          bytes, tokens, seconds, rate, tokens > 0 ? Double(bytes) / Double(tokens) : 0)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// `--model` (file, folder or registered name), else the default model; a missing file says how to get it.
    static func resolveModelPath(_ option: String?) throws -> String {
        do { return try ModelLocator.locate(explicit: option) } catch {
            throw TokenizeCommandError("\(error)")
        }
    }

    private func humanReport(_ tokenizer: Tokenizer, _ ids: [Int32], byteCount: Int) -> String {
        var lines = ["\(ids.count) tokens from \(byteCount) bytes"]
        let width = String(max(ids.count - 1, 0)).count
        for (index, id) in ids.enumerated() {
            let shown = SafeText.sanitize(tokenizer.displayString(id, showWhitespace: showWhitespace),
                                          options: .init(showSpaces: showWhitespace, showNewlines: true))
            let position = String(index).leftPadded(to: width)
            let idText = String(id).leftPadded(to: 6)
            let kind = tokenizer.isControl(id) ? "  (special)" : ""
            lines.append("\(position) \(idText)  \"\(shown)\"\(kind)")
        }
        lines.append("ids: [" + ids.map(String.init).joined(separator: ", ") + "]")
        return lines.joined(separator: "\n")
    }

    private func jsonReport(_ tokenizer: Tokenizer, _ ids: [Int32]) -> String {
        let tokens = ids.map { id -> String in
            let text = JSONText.quoted(tokenizer.displayString(id, showWhitespace: showWhitespace))
            let bytes = tokenizer.tokenBytes(id).map(String.init).joined(separator: ",")
            let special = tokenizer.isControl(id) ? "true" : "false"
            return "{\"id\":\(id),\"text\":\(text),\"bytes\":[\(bytes)],\"special\":\(special)}"
        }
        return "{\"ids\":[" + ids.map(String.init).joined(separator: ",") + "],\"tokens\":[" + tokens.joined(separator: ",") + "]}"
    }

    /// One JSON string per input line in, one JSON array of ids per output line out.
    private func encodeJSONLines(_ tokenizer: Tokenizer) throws {
        let decoder = JSONDecoder()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 17)
        var lineNumber = 0, totalBytes = 0, totalTokens = 0
        var encoding = Duration.zero
        let clock = ContinuousClock()
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            let string: String
            do {
                string = try decoder.decode(String.self, from: Data(line.utf8))
            } catch {
                throw TokenizeCommandError("standard input line \(lineNumber): expected one JSON string per line (like \"some text\")")
            }
            let started = clock.now
            let ids = tokenizer.encode(string, parseSpecial: !noSpecial)
            encoding += clock.now - started
            totalBytes += string.utf8.count
            totalTokens += ids.count
            Self.appendJSONArray(ids, to: &buffer)
            if buffer.count >= 1 << 16 {
                FileHandle.standardOutput.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if !buffer.isEmpty { FileHandle.standardOutput.write(Data(buffer)) }
        if stats { Self.printStats(bytes: totalBytes, tokens: totalTokens, elapsed: encoding) }
    }
}

extension TokenizeCommand {
    /// Appends `[1,2,3]\n` to `buffer`.
    static func appendJSONArray(_ ids: [Int32], to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "["))
        var digits: [UInt8] = []
        for (i, id) in ids.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            var v = Int(id)
            if v < 0 { buffer.append(UInt8(ascii: "-")); v = -v }
            digits.removeAll(keepingCapacity: true)
            repeat { digits.append(UInt8(48 + v % 10)); v /= 10 } while v > 0
            buffer.append(contentsOf: digits.reversed())
        }
        buffer.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "\n")])
    }
}

/// A failure of `featurescope tokenize` (printed as `Error: <message>`).
struct TokenizeCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// JSON string literals that are safe on a terminal: every control, format and
/// bidirectional character is written as a `\uXXXX` escape (lossless).
private enum JSONText {
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0D: out += "\\r"
            case 0x00..<0x20, 0x7F...0x9F, 0x200B...0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF:
                out += String(format: "\\u%04X", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
