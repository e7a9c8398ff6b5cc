/// What `featurescope corpus --inspect` shows of a token file: its header, a provenance summary and the first rows
/// (decoded when a decoder is given).
public struct TokenFileReport: Encodable, Sendable {
    public struct Row: Encodable, Sendable {
        public var index: Int
        public var ids: [Int32]
        public var text: String?
    }
    public var path: String
    public var version: UInt32
    public var contextLength: Int
    public var rowCount: Int
    public var tokenCount: Int
    public var vocabSize: Int
    public var eosTokenId: Int32
    public var tokenizer: String
    public var split: String
    public var command: String
    public var documents: Int
    public var sources: [String]
    public var droppedTokens: Int
    public var rows: [Row]

    /// The report of the token file at `path` (every token validated) with its first `rows` rows.
    public static func make(path: String, rows: Int, decode: (([Int32]) -> String)?) throws -> TokenFileReport {
        let file = try TokenFile(path: path, validateTokens: true)
        let shown = try (0 ..< min(max(0, rows), file.rowCount)).map { i -> Row in
            let ids = try file.rowArray(i)
            return Row(index: i, ids: ids, text: decode.map { $0(ids) })
        }
        let p = file.provenance
        return TokenFileReport(path: path, version: file.header.version, contextLength: file.contextLength,
                               rowCount: file.rowCount, tokenCount: file.tokenCount, vocabSize: file.vocabSize,
                               eosTokenId: file.eosTokenId, tokenizer: p.tokenizer, split: p.split, command: p.command,
                               documents: p.documents.count, sources: p.sources, droppedTokens: p.droppedTokens, rows: shown)
    }
}
