import ArgumentParser

struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score", abstract: "Score explanations with an LLM (not built yet)")
    func run() async throws { throw ValidationError("'score' is not implemented yet") }
}
