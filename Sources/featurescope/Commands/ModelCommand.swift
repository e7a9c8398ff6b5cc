import ArgumentParser

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Fetch and inspect the embedded model (not built yet)")
    func run() async throws { throw ValidationError("'model' is not implemented yet") }
}
