import ArgumentParser

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate text with the model (not built yet)")
    func run() async throws { throw ValidationError("'generate' is not implemented yet") }
}
