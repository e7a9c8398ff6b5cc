import Foundation

extension DelphiExport {
    /// What an export knows about who explained and scored each part.
    struct Credits {
        /// hookpoint → the model of most of its exported explanations.
        var explainers: [String: String] = [:]
        /// scorer → the model of most of its exported scores.
        var scorers: [String: String] = [:]
        var explainerCounts: [String: [String: Int]] = [:]
        var scorerCounts: [String: [String: Int]] = [:]

        mutating func explanation(hookpoint: String, model: String) { explainerCounts[hookpoint, default: [:]][model, default: 0] += 1 }
        mutating func score(scorer: String, model: String) { scorerCounts[scorer, default: [:]][model, default: 0] += 1 }

        static func most(_ c: [String: Int]) -> String? { c.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key }

        /// The model of most explanations overall.
        var mainExplainer: String? {
            var all: [String: Int] = [:]
            for c in explainerCounts.values { for (k, v) in c { all[k, default: 0] += v } }
            for c in scorerCounts.values where all.isEmpty { for (k, v) in c { all[k, default: 0] += v } }
            return Self.most(all)
        }
    }

    /// delphi's `latents/<hookpoint>/config.json` (CacheConfig.to_dict() + model_name, in its key order).
    static func cacheConfig(_ cache: LatentCacheDirectory, splits: Int) -> PythonJSON {
        let meta = cache.manifest.metadata
        func text(_ key: String, _ fallback: String) -> PythonJSON { .string(meta.extra["delphi." + key] ?? fallback) }
        func int(_ key: String, _ fallback: Int) -> PythonJSON { .int(meta.extra["delphi." + key].flatMap { Int($0) } ?? fallback) }
        return .object([
            ("dataset_repo", text("dataset_repo", meta.corpus ?? "")), ("dataset_split", text("dataset_split", "")),
            ("dataset_name", text("dataset_name", "")), ("dataset_column", text("dataset_column", "text")),
            ("batch_size", int("batch_size", 32)), ("cache_ctx_len", .int(cache.tokens.rowLength)),
            ("n_tokens", .int(cache.tokens.tokenCount)), ("n_splits", .int(splits)),
            ("model_name", .string(meta.model ?? meta.extra["delphi.model_name"] ?? "")),
        ])
    }

    /// delphi's `run_config.json` (RunConfig.save_json): the run an import recorded, if any, with what this
    /// cache says set over it — hookpoints, cache and sampler settings, explainer and scorer models (per
    /// hookpoint and per scorer in a `featurescope` section delphi ignores).
    static func runConfig(_ cache: LatentCacheDirectory, hookpoints: [String], scorers: [String], splits: Int, credits: Credits) -> PythonJSON {
        let meta = cache.manifest.metadata
        let recorded = DelphiRunConfig.recorded(in: meta)
        let d = CacheSamplingDefaults(metadata: meta)
        let quantiles = d.quantiles ?? cache.manifest.examples.quantiles
        let explainer = credits.mainExplainer ?? recorded?.explainerModel
        // Scorers in the recorded run's order, others after them by name.
        let known = recorded?.scorers ?? []
        func rank(_ s: String) -> Int { known.firstIndex(of: s) ?? known.count }
        let scorers = scorers.sorted { (rank($0), $0) < (rank($1), $1) }
        let base = recorded?.json
        func keep(_ section: String?, _ key: String, _ fallback: PythonJSON) -> PythonJSON {
            (section.map { base?[$0]?[key] } ?? base?[key]) ?? fallback
        }
        let cacheCfg = cacheConfig(cache, splits: splits)
        let constructor: PythonJSON = .object([
            ("faiss_embedding_model", keep("constructor_cfg", "faiss_embedding_model", .string("sentence-transformers/all-MiniLM-L6-v2"))),
            ("faiss_embedding_cache_dir", keep("constructor_cfg", "faiss_embedding_cache_dir", .string(".embedding_cache"))),
            ("faiss_embedding_cache_enabled", keep("constructor_cfg", "faiss_embedding_cache_enabled", .bool(true))),
            ("example_ctx_len", .int(d.windowLength ?? cache.manifest.examples.windowLength)),
            ("min_examples", .int(d.minExamples ?? 200)),
            ("n_non_activating", .int(d.nonActivating ?? 50)),
            ("center_examples", keep("constructor_cfg", "center_examples", .bool(true))),
            ("non_activating_source", keep("constructor_cfg", "non_activating_source", .string("random"))),
            ("neighbours_type", keep("constructor_cfg", "neighbours_type", .string("co-occurrence"))),
        ])
        let sampler: PythonJSON = .object([
            ("n_examples_train", .int(d.trainExamples ?? 4 * quantiles)),
            ("n_examples_test", .int(d.testExamples ?? 5 * quantiles)),
            ("n_quantiles", .int(quantiles)),
            ("train_type", keep("sampler_cfg", "train_type", .string("quantiles"))),
            ("test_type", keep("sampler_cfg", "test_type", .string("quantiles"))),
            ("ratio_top", keep("sampler_cfg", "ratio_top", .double(0.2))),
        ])
        let sparse = cache.parts.compactMap { $0.manifest.spec.sae?.path }
        var fs: [(String, PythonJSON)] = [
            ("explainer_models", .object(credits.explainers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("scorer_models", .object(credits.scorers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        if let c = meta.creationCommand { fs.append(("cache_created_by", .string(c))) }
        var items: [(String, PythonJSON)] = [
            ("cache_cfg", cacheCfg.removing("model_name")),
            ("constructor_cfg", constructor),
            ("sampler_cfg", sampler),
            ("model", .string(meta.model ?? recorded?.model ?? "")),
            ("sparse_model", keep(nil, "sparse_model", .string(Set(sparse).count == 1 ? sparse[0] : ""))),
            ("random", keep(nil, "random", .bool(false))),
            ("hookpoints", .array(hookpoints.map { .string($0) })),
            ("explainer_model", explainer.map { .string($0) } ?? keep(nil, "explainer_model", .string(""))),
            ("explainer_model_max_len", keep(nil, "explainer_model_max_len", .int(5120))),
            ("explainer_provider", keep(nil, "explainer_provider", .string("offline"))),
            ("explainer", .string(credits.explainerCounts.isEmpty ? "none" : "default")),
            ("scorers", .array(scorers.map { .string($0) })),
            ("fuzz_type", keep(nil, "fuzz_type", .string("default"))),
            ("name", keep(nil, "name", .string(""))),
            ("max_latents", keep(nil, "max_latents", .null)),
            ("filter_bos", keep(nil, "filter_bos", .bool(true))),
            ("log_probs", keep(nil, "log_probs", .bool(false))),
            ("load_in_8bit", keep(nil, "load_in_8bit", .bool(false))),
            ("hf_token", .null),
            ("pipeline_num_proc", keep(nil, "pipeline_num_proc", .int(1))),
            ("num_gpus", keep(nil, "num_gpus", .int(0))),
            ("max_memory", keep(nil, "max_memory", .double(0.7))),
            ("seed", .int(Int(exactly: d.seed ?? cache.manifest.examples.seed) ?? 22)),
            ("verbose", keep(nil, "verbose", .bool(true))),
            ("num_examples_per_scorer_prompt", keep(nil, "num_examples_per_scorer_prompt", .int(5))),
            ("overwrite", keep(nil, "overwrite", .array([]))),
        ]
        // Any other key of the recorded file is written back as it was.
        if case .object(let old)? = base {
            let known = Set(items.map(\.0) + ["featurescope"])
            items += old.filter { !known.contains($0.0) }
        }
        items.append(("featurescope", .object(fs)))
        return .object(items)
    }
}

extension PythonJSON {
    /// An object without `key`.
    func removing(_ key: String) -> PythonJSON {
        guard case .object(let items) = self else { return self }
        return .object(items.filter { $0.0 != key })
    }
}
