import ArgumentParser

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export to delphi's layout (not built yet)")
    func run() async throws { throw ValidationError("'export' is not implemented yet") }
}
