import ArgumentParser

struct CorpusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "corpus", abstract: "Pack text into a token file (not built yet)")
    func run() async throws { throw ValidationError("'corpus' is not implemented yet") }
}
