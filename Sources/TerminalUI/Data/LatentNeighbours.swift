/// One neighbour of a latent: its index, how close it is, and its explanation.
public struct NeighbourEntry: Sendable, Equatable {
    public var latent: Int
    public var score: Double
    public var explanation: String?
    public init(latent: Int, score: Double, explanation: String?) {
        self.latent = latent; self.score = score; self.explanation = explanation
    }
}

/// Neighbours by one measure (decoder cosine, encoder cosine, co-occurrence, the aligned match in another part).
public struct NeighbourGroup: Sendable, Equatable {
    public var title: String
    /// The part the entries belong to (the aligned match lives in another part).
    public var part: Int
    public var entries: [NeighbourEntry]
    /// Why the group is empty or what it is based on (shown under the title).
    public var note: String?
    public init(title: String, part: Int, entries: [NeighbourEntry], note: String? = nil) {
        self.title = title; self.part = part; self.entries = entries; self.note = note
    }
}

/// Everything the neighbours panel shows for one latent.
public struct LatentNeighbours: Sendable, Equatable {
    public var groups: [NeighbourGroup]
    public init(groups: [NeighbourGroup]) { self.groups = groups }

    /// (group, entry) of every selectable row, in display order.
    public var rows: [(group: Int, entry: Int)] {
        groups.indices.flatMap { g in groups[g].entries.indices.map { (g, $0) } }
    }
}

/// The similar-latents panel over the detail view.
public struct NeighboursState: Sendable, Equatable {
    public var ref: LatentRef
    public var content: Loadable<LatentNeighbours> = .loading
    public var cursor = 0
    public init(ref: LatentRef) { self.ref = ref }
}
