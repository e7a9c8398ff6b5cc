import ArgumentParser

/// The `featurescope` command: with no subcommand it opens the browser on the bundled sample cache.
@main
struct Featurescope: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "featurescope",
        abstract: "Look inside language models through sparse autoencoders.",
        discussion: "With no subcommand, opens the browser on the bundled sample cache (sample-data/).",
        version: "0.1.0",
        subcommands: [
            // engine
            ModelCommand.self, RunCommand.self, TokenizeCommand.self, GenerateCommand.self, SteerCommand.self, BenchCommand.self,
            // data pipeline
            CorpusCommand.self, CollectCommand.self, TrainCommand.self, EvalSAECommand.self, SAECommand.self,
            // latent cache
            CacheCommand.self, ImportCommand.self, ExportCommand.self, CacheBenchCommand.self, CacheInfoCommand.self,
            // dictionary geometry
            AlignCommand.self, HeadsCommand.self,
            // browser
            BrowseCommand.self,
            // auto-interpretation
            ExplainCommand.self, ScoreCommand.self,
        ],
        defaultSubcommand: BrowseCommand.self
    )
}
