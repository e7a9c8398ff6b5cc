import Foundation

/// Featurescope's own wording of the explainer prompts (delphi's structure and markers).
enum ExplainerPrompts {
    static let version = "featurescope-explainer-v1"
    static let compactVersion = "featurescope-explainer-compact-v1"
    static let compactV2Version = "featurescope-explainer-compact-v2"
    static let groundedVersion = "featurescope-explainer-grounded-v1"
    static let contrastiveVersion = "featurescope-contrastive-v1"

    static let system = """
    You are a careful, methodical researcher studying the inner workings of a neural network. \
    One of its neurons responds to certain tokens in a text. You will see a list of text examples in which \
    the tokens the neuron responds to are marked between delimiters like <<this>>. Several marked tokens in a \
    row form one span. Under each example, a line lists the marked tokens with how strongly the neuron \
    responded to each, on a scale from 0 to 10.

    Your job is to say, in a short phrase, what the marked tokens have in common. Look at the marked tokens \
    themselves and at the words around them, and favour what holds across most examples over what holds in one.
    - Keep it to a concise description, not a list of cases.
    - Do not mention the << >> delimiters or the activation numbers.
    - Ignore features that appear in only one or two examples.
    You may think briefly first. The last line of your answer must be of the form \
    "[EXPLANATION]: <your description>".
    """

    static let contrastiveSystem = """
    You are a careful, methodical researcher studying the inner workings of a neural network. \
    One of its neurons responds to certain tokens in a text. You will see two groups of text examples. In the \
    ACTIVATING EXAMPLES the tokens the neuron responds to are marked between delimiters like <<this>>. The \
    NON-ACTIVATING EXAMPLES are similar texts in which the neuron stays silent.

    Your job is to say, in a short phrase, what the marked tokens have in common and what sets them apart from \
    the non-activating examples.
    - Keep it to a concise description, not a list of cases.
    - Do not mention the << >> delimiters or the two groups.
    You may think briefly first. The last line of your answer must be of the form \
    "[EXPLANATION]: <your description>".
    """

    /// A few-shot demonstration: examples as (tokens, activations) and the model's answer.
    struct Demo {
        var examples: [([String], [Float])]
        var answer: String
    }

    static let demos: [Demo] = [
        Demo(examples: [
            (["The", " crew", " had", " to", " bail", " out", " the", " boat", " before", " it", " sank", "."],
             [0, 0, 0, 0, 6, 8, 0, 0, 0, 0, 0, 0]),
            (["She", " finally", " figured", " out", " how", " the", " lock", " worked", "."],
             [0, 0, 5, 9, 0, 0, 0, 0, 0]),
            (["Please", " fill", " out", " the", " form", " and", " hand", " it", " in", "."],
             [0, 3, 7, 0, 0, 0, 2, 0, 6, 0]),
        ], answer: """
        The marked spans are verbs followed by a particle ("bail out", "figured out", "fill out", "hand in"); \
        the particle carries most of the response.
        [EXPLANATION]: The particle of English phrasal verbs, such as "out" or "in" after a verb.
        """),
        Demo(examples: [
            (["Prices", " rose", " by", " 12", "%", " last", " year", "."],
             [0, 0, 0, 4, 10, 0, 0, 0]),
            (["Only", " 3", " percent", " of", " voters", " agreed", "."],
             [0, 0, 9, 0, 0, 0, 0]),
            (["The", " loan", " carries", " an", " interest", " rate", " of", " 4", ".5", "%."],
             [0, 0, 0, 0, 0, 2, 0, 0, 3, 8]),
        ], answer: """
        Every marked span is a percent sign or the word "percent" right after a number.
        [EXPLANATION]: Percentage markers ("%", "percent") following a number.
        """),
        Demo(examples: [
            (["I", " can", "'t", " believe", " how", " wonderful", " the", " concert", " was", "!"],
             [0, 0, 0, 0, 0, 9, 0, 0, 0, 1]),
            (["What", " a", " lovely", " surprise", " to", " see", " you", "."],
             [0, 0, 8, 2, 0, 0, 0, 0]),
            (["The", " view", " from", " the", " top", " was", " simply", " breathtaking", "."],
             [0, 0, 0, 0, 0, 0, 1, 10, 0]),
        ], answer: """
        The strongest tokens are adjectives of delight ("wonderful", "lovely", "breathtaking") in exclamations.
        [EXPLANATION]: Enthusiastic positive adjectives describing an experience.
        """),
    ]

    /// The compact prompt for small explainers whose reply is primed with `[EXPLANATION]:`: no reasoning line in
    /// the demonstrations (the reply cannot have one), demonstrations of different kinds (a name, a code token,
    /// a word sense) so none is a template to copy, and a tally of the marked tokens under the examples.
    static let compactSystem = """
    You study a neuron of a language model. You will see text examples in which the tokens the neuron \
    responds to are marked between delimiters like <<this>>, followed by a tally of the marked tokens. \
    Answer with one short phrase saying which token or word the neuron responds to and in what context, \
    specific to these examples (quote the token). Do not mention the delimiters or numbers. \
    Answer in the form "[EXPLANATION]: <phrase>".
    """

    /// The examples of the compact prompts' first demonstration: the colon ending a Python def, class or if line.
    static let pythonColonExamples: [([String], [Float])] = [
        (["def", " parse", "(", "self", ",", " text", "):", "\n", "   ", " return", " self", ".", "lexer"],
         [0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0]),
        (["class", " Point", "(", "object", "):", "\n", "   ", " x", " =", " 0"],
         [0, 0, 0, 0, 10, 0, 0, 0, 0, 0]),
        (["if", " n", " <", " 2", ":", "\n", "       ", " return", " n"],
         [0, 0, 0, 0, 7, 0, 0, 0, 0]),
    ]

    /// The examples of a demonstration shared by compact-v2 and grounded: years after "in" or "Until".
    static let yearExamples: [([String], [Float])] = [
        (["The", " bridge", " opened", " in", " 1998", "."], [0, 0, 0, 0, 9, 0]),
        (["Until", " 1871", ",", " the", " city", " had", " no", " railway", "."], [0, 8, 0, 0, 0, 0, 0, 0, 0]),
        (["She", " moved", " to", " Oslo", " in", " 2004", " and", " stayed", "."], [0, 0, 0, 0, 0, 10, 0, 0, 0]),
    ]

    /// Demonstrations of the compact prompt: (examples, the one-line answer).
    static let compactDemos: [Demo] = [
        Demo(examples: pythonColonExamples, answer: "[EXPLANATION]: The colon \"):\" or \":\" ending a Python def, class or if line."),
        Demo(examples: [
            (["We", " flew", " from", " Lisbon", " to", " Tok", "yo", " last", " spring", "."],
             [0, 0, 0, 0, 0, 8, 3, 0, 0, 0]),
            (["The", " Tok", "yo", " office", " opens", " at", " nine", "."],
             [0, 0, 10, 2, 0, 0, 0, 0]),
        ], answer: "[EXPLANATION]: The city name \"Tokyo\" (\" Tok\"), in travel and business sentences."),
        Demo(examples: [
            (["She", " sat", " on", " the", " river", " bank", " to", " fish", "."],
             [0, 0, 0, 0, 3, 9, 0, 0, 0]),
            (["The", " boat", " drifted", " toward", " the", " far", " bank", "."],
             [0, 0, 0, 0, 0, 0, 8, 0]),
        ], answer: "[EXPLANATION]: \"bank\" meaning the side of a river."),
    ]

    /// The v2 compact prompt (session 8, a study variant): the list under the examples names each marked token with
    /// the token before it and the word it is part of, and the demonstrations answer in that shape.
    static let compactV2System = """
    You study a neuron of a language model. You will see text examples in which the tokens the neuron \
    responds to are marked between delimiters like <<this>>, then a list of the marked tokens, each with the \
    token before it and the word it is part of. Answer with one short phrase: which token the neuron responds \
    to (quote it) and what comes before it or around it in most examples. Do not go through the examples one \
    by one, and do not mention the delimiters. Answer in the form "[EXPLANATION]: <phrase>".
    """

    /// Demonstrations of the v2 compact prompt.
    static let compactV2Demos: [Demo] = [
        Demo(examples: pythonColonExamples, answer: "[EXPLANATION]: The colon \"):\" or \":\" that ends a Python def, class or if line."),
        Demo(examples: yearExamples, answer: "[EXPLANATION]: Years (\" 1998\", \" 2004\") after \" in\" or \"Until\"."),
        Demo(examples: [
            (["We", " flew", " from", " Lisbon", " to", " Tok", "yo", " last", " spring", "."],
             [0, 0, 0, 0, 0, 8, 3, 0, 0, 0]),
            (["The", " Tok", "yo", " office", " opens", " at", " nine", "."],
             [0, 10, 2, 0, 0, 0, 0, 0]),
        ], answer: "[EXPLANATION]: \" Tok\", the first piece of the city name \"Tokyo\"."),
    ]

    /// The grounded prompt (session 9, a study variant): under the examples the latent's counted pattern
    /// (`PatternExplainer` over its strongest windows); the explainer says it in plain words and adds the kind of text.
    static let groundedSystem = """
    You study a neuron of a language model. You will see text examples in which the tokens the neuron \
    responds to are marked between delimiters like <<this>>, then the counted pattern: what the marked tokens \
    have in common, counted over the neuron's strongest examples. Answer with one short phrase that says the \
    counted pattern in plain words, keeping the tokens it quotes, and adds the kind of text the examples come \
    from (for example Python code, a play, a novel, the Bible, kernel documentation) when most examples share \
    it. Do not add tokens the pattern does not name, and do not mention the delimiters or counts. Answer in the \
    form "[EXPLANATION]: <phrase>".
    """

    /// Demonstrations of the grounded prompt (their counted patterns are computed from their examples).
    static let groundedDemos: [Demo] = [
        Demo(examples: pythonColonExamples,
             answer: "[EXPLANATION]: The colon \"):\" that ends a def, class or if line of Python code."),
        Demo(examples: yearExamples, answer: "[EXPLANATION]: A year such as \"1998\" or \"2004\" after \"in\", in history writing."),
        Demo(examples: [
            (["We", " flew", " from", " Lisbon", " to", " Tok", "yo", " last", " spring", "."],
             [0, 0, 0, 0, 0, 3, 8, 0, 0, 0]),
            (["The", " Tok", "yo", " office", " opens", " at", " nine", "."],
             [0, 2, 10, 0, 0, 0, 0, 0]),
        ], answer: "[EXPLANATION]: \"yo\" after \"Tok\", completing the city name \"Tokyo\" in travel and business sentences."),
    ]
}
