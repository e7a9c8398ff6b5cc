import ArgumentParser

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Explain latents with an LLM (not built yet)")
    func run() async throws { throw ValidationError("'explain' is not implemented yet") }
}
