import ArgumentParser

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train a TopK SAE (not built yet)")
    func run() async throws { throw ValidationError("'train' is not implemented yet") }
}
