import Foundation

/// Errors raised while reading corpus inputs or reading/writing packed token files.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    /// An input path does not exist or cannot be read.
    case cannotRead(path: String, reason: String)
    /// An input path has an extension the corpus reader does not handle.
    case unsupportedInput(path: String)
    /// A line of a `.jsonl` input is not a JSON object.
    case badJSONLine(path: String, line: Int, reason: String)
    /// A line of a `.jsonl` input lacks the text field (or it is not a string).
    case missingTextField(path: String, line: Int, field: String)
    /// A packed token file does not start with the expected magic bytes.
    case badMagic(path: String, found: String)
    /// A packed token file has a format version this build does not read.
    case unsupportedVersion(path: String, version: UInt32, supported: UInt32)
    /// A packed token file is shorter than its header says.
    case truncated(path: String, expectedBytes: UInt64, actualBytes: UInt64)
    /// A packed token file is longer than its header says.
    case trailingBytes(path: String, expectedBytes: UInt64, actualBytes: UInt64)
    /// A header field has an impossible value.
    case invalidHeader(path: String, reason: String)
    /// The provenance JSON blob of a token file cannot be decoded.
    case badProvenance(path: String, reason: String)
    /// A token id is outside `0..<vocabSize`.
    case tokenOutOfRange(path: String, index: UInt64, token: Int32, vocabSize: Int)
    /// A row index is outside `0..<rowCount`.
    case rowOutOfRange(row: Int, rowCount: Int)
    /// Writing the output failed.
    case writeFailed(path: String, reason: String)
    /// An option has an invalid value.
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "\(path): cannot read: \(reason)"
        case let .unsupportedInput(path):
            return "\(path): unsupported input (expected a .txt or .jsonl file, or a folder of them)"
        case let .badJSONLine(path, line, reason): return "\(path):\(line): not a JSON object: \(reason)"
        case let .missingTextField(path, line, field):
            return "\(path):\(line): no string field '\(field)' (choose the field with --text-field)"
        case let .badMagic(path, found):
            return "\(path): not a Featurescope token file (magic \(found), expected \(TokenFileHeader.magicString))"
        case let .unsupportedVersion(path, version, supported):
            return "\(path): token file version \(version) is not supported (this build reads version \(supported))"
        case let .truncated(path, expected, actual):
            return "\(path): truncated token file: header implies \(expected) bytes, file has \(actual) bytes"
        case let .trailingBytes(path, expected, actual):
            return "\(path): token file has \(actual) bytes, header implies \(expected) bytes (trailing data)"
        case let .invalidHeader(path, reason): return "\(path): invalid token file header: \(reason)"
        case let .badProvenance(path, reason): return "\(path): invalid provenance JSON: \(reason)"
        case let .tokenOutOfRange(path, index, token, vocab):
            return "\(path): token \(index) has id \(token), outside the vocabulary 0..<\(vocab)"
        case let .rowOutOfRange(row, count): return "row \(row) is out of range (the file has \(count) rows)"
        case let .writeFailed(path, reason): return "\(path): cannot write: \(reason)"
        case let .invalidOption(message): return message
        }
    }
}
