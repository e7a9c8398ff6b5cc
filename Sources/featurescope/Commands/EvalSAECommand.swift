import ArgumentParser

struct EvalSAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval-sae", abstract: "Evaluate an SAE (not built yet)")
    func run() async throws { throw ValidationError("'eval-sae' is not implemented yet") }
}
