import ArgumentParser

struct BrowseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "browse", abstract: "Open the browser (not built yet)")
    func run() async throws { throw ValidationError("'browse' is not implemented yet") }
}
