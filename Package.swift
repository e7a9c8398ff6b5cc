// swift-tools-version:6.0
import PackageDescription

/// Release builds of the numeric targets drop overflow/bounds traps inside hot loops;
/// every untrusted size is validated before it reaches them.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

/// The engine's quantized token-step kernels: let LLVM use AVX2/FMA/F16C on x86-64 release builds
/// (2× on the 4-bit mat-vec). Machines without AVX2 (pre-2013 x86) need a debug build or this removed.
/// The engine is optimized in debug builds too: its SIMD kernels are ~100× slower unoptimized, which would
/// make every test that runs the model crawl.
#if arch(x86_64)
let engineSIMD: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]
#else
let engineSIMD: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#endif

/// TensorFormats decodes every weight of a model on each prompt pass (GGUF blocks → Float tiles); unoptimized, that
/// alone made the real-model tests take minutes, so it is optimized in debug builds too.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
/// The integer mat-vec kernels (CKernels) are always optimised, and on x86-64 Linux built with AVX2/FMA/F16C in
/// every configuration so the tests exercise the intrinsics (elsewhere their portable scalar code).
#if arch(x86_64)
let kernelFlags: [CSetting] = [
    .unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"], .when(platforms: [.linux])),
    .unsafeFlags(["-O3"], .when(platforms: [.macOS])),
]
#else
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3"])]
#endif

let package = Package(
    name: "featurescope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "featurescope", targets: ["featurescope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C shims
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CNcursesw", path: "Sources/CNcursesw",
                       providers: [.apt(["libncursesw5-dev"])]),
        /// libcurl's easy interface: the HTTP client of AutoInterp (sleeps while waiting, unlike URLSession on Linux).
        .systemLibrary(name: "CCurl", path: "Sources/CCurl",
                       providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),

        /// Integer (int8-activation) mat-vec kernels over ggml blocks for the single-token step.
        .target(name: "CKernels", cSettings: kernelFlags),

        // MARK: - Libraries, one job each (lower layers first)
        .target(name: "FeaturescopeCore"),
        .target(name: "TensorFormats", swiftSettings: fastMath + optimizedInDebug),
        .target(name: "ModelEngine", dependencies: ["TensorFormats", "FeaturescopeCore", "CBLAS", "CKernels"],
                swiftSettings: fastMath + engineSIMD),
        .target(name: "SparseAutoencoders", dependencies: ["TensorFormats", "ModelEngine", "CBLAS"],
                swiftSettings: fastMath),
        /// Steering generation with SAE latents (add / clamp, frozen attention), per-position KL, ablation effects.
        .target(name: "Steering", dependencies: ["ModelEngine", "SparseAutoencoders", "FeaturescopeCore"]),
        .target(name: "Corpus", dependencies: ["FeaturescopeCore"]),
        .target(name: "SAETraining", dependencies: ["ModelEngine", "Corpus", "TensorFormats", "FeaturescopeCore", "CBLAS"],
                swiftSettings: fastMath),
        .target(name: "LatentCache", dependencies: ["TensorFormats", "FeaturescopeCore"],
                swiftSettings: fastMath),
        /// The one path from tokens to sparse codes: hook activations (forward pass or activation store) → SAE encode;
        /// collection into stores, the cache builder's source, the live prompt's encoding, corpus tokenization.
        .target(name: "ActivationPipeline", dependencies: ["ModelEngine", "SparseAutoencoders", "SAETraining", "LatentCache",
                                                           "Corpus", "FeaturescopeCore"]),
        .target(name: "AutoInterp", dependencies: ["LatentCache", "ModelEngine", "TensorFormats", "FeaturescopeCore", "CCurl", "Steering"]),
        /// Dictionary geometry: top-k cosine and co-occurrence neighbours, latent alignment (linear assignment).
        .target(name: "LatentGeometry", dependencies: ["CBLAS", "CKernels", "FeaturescopeCore", "LatentCache"],
                swiftSettings: fastMath + optimizedInDebug),
        /// Attention-head roles (previous-token, induction, first-token, self, entropy) from attention patterns.
        .target(name: "HeadRoles", dependencies: ["ModelEngine", "FeaturescopeCore"]),
        .target(name: "TerminalUI", dependencies: ["FeaturescopeCore"]),
        .target(name: "CursesTerminal", dependencies: ["TerminalUI", "CNcursesw"]),
        /// Adapters from the real cache, engine, SAEs and auto-interp to the browser's data ports.
        .target(name: "BrowserAdapters", dependencies: ["ActivationPipeline", "TerminalUI", "LatentCache", "LatentGeometry", "HeadRoles",
                                                        "AutoInterp", "SparseAutoencoders",
                                                        "ModelEngine", "TensorFormats", "FeaturescopeCore", "Steering"]),
        .target(name: "TestSupport", dependencies: ["TensorFormats", "TerminalUI", "FeaturescopeCore"]),
        /// The benchmarks home: timings behind `bench`, `cache-bench` and `browse --bench-render`, used only by the executable
        /// (and the benchmark's own test); never by a product library.
        .target(name: "Benchmarks", dependencies: ["FeaturescopeCore", "LatentCache", "ModelEngine", "SparseAutoencoders", "TerminalUI",
                                                   "BrowserAdapters"]),

        // MARK: - The thin executable
        .executableTarget(name: "featurescope", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            "FeaturescopeCore", "TensorFormats", "ModelEngine", "SparseAutoencoders", "Corpus",
            "SAETraining", "ActivationPipeline", "LatentCache", "LatentGeometry", "HeadRoles", "AutoInterp", "TerminalUI",
            "CursesTerminal", "BrowserAdapters", "Benchmarks", "Steering",
        ]),

        // MARK: - Tests
        .testTarget(name: "TensorFormatsTests", dependencies: ["TensorFormats", "FeaturescopeCore", "TestSupport"]),
        .testTarget(name: "ModelEngineTests", dependencies: ["ModelEngine", "TensorFormats", "FeaturescopeCore"]),
        .testTarget(name: "SparseAutoencodersTests", dependencies: ["SparseAutoencoders", "ModelEngine", "TensorFormats", "FeaturescopeCore", "TestSupport"]),
        .testTarget(name: "SteeringTests", dependencies: ["Steering", "SparseAutoencoders", "ModelEngine", "TestSupport"]),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus"]),
        .testTarget(name: "SAETrainingTests", dependencies: ["SAETraining", "SparseAutoencoders", "ModelEngine", "TensorFormats", "FeaturescopeCore"]),
        .testTarget(name: "ActivationPipelineTests", dependencies: ["ActivationPipeline", "ModelEngine", "SAETraining", "SparseAutoencoders", "TestSupport"]),
        .testTarget(name: "LatentCacheTests", dependencies: ["LatentCache", "TensorFormats", "FeaturescopeCore", "TestSupport"]),
        .testTarget(name: "AutoInterpTests", dependencies: ["AutoInterp", "LatentCache", "FeaturescopeCore", "TestSupport", "ModelEngine", "SparseAutoencoders", "Steering"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "FeaturescopeCore", "TestSupport"]),
        .testTarget(name: "BrowserAdaptersTests", dependencies: ["BrowserAdapters", "TerminalUI", "LatentCache", "SparseAutoencoders", "AutoInterp",
                                                                "ModelEngine", "TensorFormats", "FeaturescopeCore", "TestSupport", "Benchmarks"]),
        .testTarget(name: "LatentGeometryTests", dependencies: ["LatentGeometry", "LatentCache", "SparseAutoencoders", "FeaturescopeCore"]),
        .testTarget(name: "HeadRolesTests", dependencies: ["HeadRoles", "ModelEngine"]),
        .testTarget(name: "CLITests", dependencies: ["Corpus", "TensorFormats", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
