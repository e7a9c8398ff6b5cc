import ArgumentParser

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a prompt through the model (and SAEs) (not built yet)")
    func run() async throws { throw ValidationError("'run' is not implemented yet") }
}
