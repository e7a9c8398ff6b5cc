import ArgumentParser

struct CacheBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache-bench", abstract: "Benchmark the latent cache (not built yet)")
    func run() async throws { throw ValidationError("'cache-bench' is not implemented yet") }
}
