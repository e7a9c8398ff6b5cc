/// Placeholder so the target builds; replaced by real code.
enum BrowserAdaptersModule {}
