import ArgumentParser

struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "Build a latent cache (not built yet)")
    func run() async throws { throw ValidationError("'cache' is not implemented yet") }
}
