import ArgumentParser

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import a delphi run (not built yet)")
    func run() async throws { throw ValidationError("'import' is not implemented yet") }
}
