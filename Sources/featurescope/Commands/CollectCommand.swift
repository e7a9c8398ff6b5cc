import ArgumentParser

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "collect", abstract: "Collect hook activations into shards (not built yet)")
    func run() async throws { throw ValidationError("'collect' is not implemented yet") }
}
