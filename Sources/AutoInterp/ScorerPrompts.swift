import Foundation

/// Featurescope's own wording of the detection and fuzzing prompts (delphi's structure:
/// `Latent explanation:`, `Text examples:`, `Example i:` lines, a Python list as the answer).
enum ScorerPrompts {
    static let detectionVersion = "featurescope-detection-v1"
    static let fuzzVersion = "featurescope-fuzz-v1"
    static let surprisalVersion = "featurescope-surprisal-v1"
    static let interventionVersion = "featurescope-intervention-v1"

    static let detectionQuestionVersion = "featurescope-detection-question-v1"
    static let fuzzQuestionVersion = "featurescope-fuzz-question-v1"

    /// The question prompt (`ClassifierScorer.PromptStyle.question`): one text per request, the question last.
    static let questionSystem = "You are a careful linguist. Answer with a single digit."

    static func questionUser(fuzz: Bool, explanation: String, text: String) -> String {
        fuzz
            ? "Feature: \(explanation)\n\nText (some tokens marked <<like this>>): \(text)\n\nDoes every marked token fit the feature? Answer 1 for yes or 0 for no."
            : "Feature: \(explanation)\n\nText: \(text)\n\nDoes the text contain the feature? Answer 1 for yes or 0 for no."
    }

    /// Four one-text demonstrations per scorer (explanation, text, answer): two features, each once present and once
    /// absent, ending on a 0 so that the last answer seen is not the one a small model leans to anyway.
    static let detectionQuestionDemos: [(String, String, Int)] = [
        ("Names of musical instruments.", "She practised the violin every evening after school.", 1),
        ("Names of musical instruments.", "The train left the station ten minutes late.", 0),
        ("The word \"because\" introducing a reason.", "We stayed inside because it was raining.", 1),
        ("The word \"because\" introducing a reason.", "def load(path):\n    return open(path).read()", 0),
    ]
    static let fuzzQuestionDemos: [(String, String, Int)] = [
        ("Days of the week.", "The meeting moved from <<Monday>> to <<Thursday>> afternoon.", 1),
        ("Days of the week.", "We <<always>> go hiking on <<weekends>>.", 0),
        ("The word \"because\" introducing a reason.", "We stayed inside<< because>> it was raining.", 1),
        ("The word \"because\" introducing a reason.", "def load(path):\n    return<< open>>(path).read()", 0),
    ]

    static func questionMessages(fuzz: Bool, explanation: String, text: String) -> [ChatMessage] {
        var messages: [ChatMessage] = [.system(questionSystem)]
        for (e, t, a) in fuzz ? fuzzQuestionDemos : detectionQuestionDemos {
            messages += [.user(questionUser(fuzz: fuzz, explanation: e, text: t)), .assistant(String(a))]
        }
        return messages + [.user(questionUser(fuzz: fuzz, explanation: explanation, text: text))]
    }

    /// Contextual calibration's content-free texts (Zhao et al. 2021 use "N/A", "" and "[MASK]").
    static let contentFreeDetection = ["N/A", "", "[MASK]"]
    static let contentFreeFuzz = ["<<N/A>>", "<<>>", "<<[MASK]>>"]

    static let interventionSystem = """
    You are a careful, methodical linguist. A language model continued several short, neutral prompts. For some \
    continuations, one internal feature of the model was artificially boosted, which pushes its text toward \
    what the feature represents; the others are the model's ordinary output. You will be given a description \
    of the feature and then several numbered examples (prompt and continuation together). For each example in \
    order, answer 1 if you think it was written with the feature boosted and 0 if not.

    Reply with a Python list of 0s and 1s, one per example, and nothing else.
    """

    static let interventionDemo = (
        explanation: "References to the ocean and sea life.",
        examples: [
            "I think that the waves crashed over the reef where the dolphins swim",
            "Yesterday, I went to the shop to buy some bread and milk.",
            "The best way to learn is to practise every day.",
            "My favourite thing is the salty sea breeze and the whales offshore",
            "Here is a short story: a sailor lost at sea found an island of coral",
        ],
        answer: "[1, 0, 0, 1, 1]")

    static let detectionSystem = """
    You are a careful, methodical linguist. You will be given a description of a property of text, such as \
    "words about cooking" or "a closing parenthesis after a number", and then several numbered text examples. \
    For each example in order, decide whether the property appears anywhere in it: answer 1 if it does and 0 \
    if it does not.

    Reply with a Python list of 0s and 1s, one per example, and nothing else.
    """

    static let fuzzSystem = """
    You are a careful, methodical linguist. You will be given a description of a property of text and then \
    several numbered text examples in which some tokens are marked between delimiters like <<this>>. For each \
    example in order, decide whether the marked tokens are correctly marked: answer 1 if every marked span fits \
    the description and 0 if any marked span does not.

    Reply with a Python list of 0s and 1s, one per example, and nothing else.
    """

    /// One few-shot demonstration per scorer: (explanation, example texts, answer).
    static let detectionDemo = (
        explanation: "Names of musical instruments.",
        examples: [
            "She practised the violin every evening after school.",
            "The train left the station ten minutes late.",
            "He sold his old drum kit to buy a new car.",
            "We planted tomatoes along the fence.",
            "A lone trumpet played at the start of the ceremony.",
        ],
        answer: "[1, 0, 1, 0, 1]")

    static let fuzzDemo = (
        explanation: "Days of the week.",
        examples: [
            "The meeting moved from <<Monday>> to <<Thursday>> afternoon.",
            "We <<always>> go hiking on weekends.",
            "Shops close early on <<Sunday>> in this town.",
            "The <<report>> is due next Friday.",
            "Her flight lands on <<Saturday>> morning.",
        ],
        answer: "[1, 0, 1, 0, 1]")

    /// `Latent explanation: …` / `Text examples:` / `Example i: …` lines.
    static func userContent(explanation: String, examples: [String]) -> String {
        let lines = examples.enumerated().map { "Example \($0.offset): \($0.element)" }.joined(separator: "\n")
        return "Latent explanation: \(explanation)\n\nText examples:\n\n\(lines)\n"
    }
}
