import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark the engine (not built yet)")
    func run() async throws { throw ValidationError("'bench' is not implemented yet") }
}
