import Corpus

/// Rows of token ids of one fixed length (a packed `.tokens` file, or an array in tests).
public protocol TokenRowSource {
    var rowCount: Int { get }
    var contextLength: Int { get }
    /// Row `index` (0 ..< rowCount), `contextLength` ids.
    func tokens(ofRow index: Int) throws -> [Int32]
}

/// Token rows held in memory.
public struct InMemoryTokenRows: TokenRowSource {
    public let rows: [[Int32]]
    public let contextLength: Int
    public var rowCount: Int { rows.count }
    public init(rows: [[Int32]], contextLength: Int) {
        self.rows = rows
        self.contextLength = contextLength
    }
    public func tokens(ofRow index: Int) throws -> [Int32] { rows[index] }
}

extension TokenFile: TokenRowSource {
    public func tokens(ofRow index: Int) throws -> [Int32] { try rowArray(index) }
}
