import ArgumentParser

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Tokenize text (not built yet)")
    func run() async throws { throw ValidationError("'tokenize' is not implemented yet") }
}
