#include "app/cli/analyze_command.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/commands.h"
#include "core/analysis/analysis_json.h"
#include "core/analysis/capture.h"
#include "core/analysis/decay.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kKinds = {"decay",
                                         "lyapunov",
                                         "state-stats",
                                         "receptive-field",
                                         "longmamba-calibrate",
                                         "implicit-attention",
                                         "logit-lens"};

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

std::vector<std::int32_t> prompt_ids(const AnalyzeArgs& a) {
    if (a.ids) return parse_ids(*a.ids, "--ids");
    if (a.ids_file) return parse_ids(slurp(*a.ids_file), *a.ids_file);
    const fs::path tok_path = fs::path(a.model_dir) / "tokenizer.json";
    if (!fs::exists(tok_path))
        throw Error("analyze --text needs a tokenizer, and " + tok_path.string() +
                    " does not exist (use --ids)");
    Tokenizer tok = Tokenizer::from_file(tok_path);
    return tok.encode(a.text ? *a.text : slurp(*a.text_file), true);
}

// A progress line on stderr, rewritten in place.
ProgressFn progress_line(const AnalyzeArgs& a, const std::string& what) {
    if (a.quiet) return {};
    return [kind = a.kind, what](std::int64_t done, std::int64_t total) {
        std::cerr << "\ranalyze " << kind << ": " << what << " " << done << "/" << total
                  << std::flush;
        if (done == total) std::cerr << "\n";
        return true;
    };
}

void write_json(const std::string& path, const json& j) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw Error("cannot write " + path);
    out << j.dump() << "\n";
    if (!out) throw Error("cannot write " + path);
}

std::vector<std::int64_t> chosen_layers(const AnalyzeArgs& a, const ModelSpec& spec) {
    if (a.layers.empty()) return ssm_layers(spec);
    return parse_layers(a.layers);
}

}  // namespace

std::vector<std::int64_t> parse_layers(const std::string& text) {
    std::vector<std::int64_t> out;
    std::stringstream ss(text);
    std::string item;
    auto num = [&](const std::string& s) {
        std::size_t used = 0;
        long long v = -1;
        try {
            v = std::stoll(s, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (s.empty() || used != s.size() || v < 0)
            throw Error("--layers: \"" + item + "\" is not a layer index or range");
        return static_cast<std::int64_t>(v);
    };
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const auto dash = item.find('-');
        if (dash == std::string::npos) {
            out.push_back(num(item));
        } else {
            const auto lo = num(item.substr(0, dash)), hi = num(item.substr(dash + 1));
            if (hi < lo) throw Error("--layers: range \"" + item + "\" runs backwards");
            for (auto i = lo; i <= hi; ++i) out.push_back(i);
        }
    }
    if (out.empty()) throw Error("--layers: no layer given");
    return out;
}

CLI::App* add_analyze_command(CLI::App& app, AnalyzeArgs& a) {
    std::string kinds;
    for (const auto& k : kKinds) kinds += (kinds.empty() ? "" : ", ") + k;
    auto* c = app.add_subcommand("analyze", "run an analysis over a prompt and write it as JSON");
    c->add_option("kind", a.kind, "one of: " + kinds)->required()->check(CLI::IsMember(kKinds));
    c->add_option("--model", a.model_dir, "checkpoint folder")->required();
    auto* t = c->add_option("--text", a.text, "prompt text (tokenized with the model's tokenizer)");
    auto* tf =
        c->add_option("--text-file", a.text_file, "a file whose whole content is the prompt");
    auto* i = c->add_option("--ids", a.ids, "prompt ids separated by commas");
    auto* f =
        c->add_option("--ids-file", a.ids_file, "a file of ids separated by whitespace or commas");
    t->excludes(tf)->excludes(i)->excludes(f);
    tf->excludes(i)->excludes(f);
    i->excludes(f);
    c->add_option("--layers", a.layers, "layers to analyze, e.g. 0,3,5-7 (default: all)");
    c->add_option("--out", a.out, "output JSON file")->required();
    c->add_option("--backend", a.backend, "cpu (cuda when built with it)");
    c->add_option("--chunk", a.chunk, "prefill chunk in tokens (default 512)");
    c->add_flag("--quiet", a.quiet, "no progress line");
    c->add_option("--from", a.retention_from, "decay: retention R(to <- from), token index s");
    c->add_option("--to", a.retention_to, "decay: retention R(to <- from), token index t");
    c->add_option("--perturb", a.perturb,
                  "lyapunov: also measure perturbation growth: none, embedding or state")
        ->check(CLI::IsMember({"none", "embedding", "state"}));
    c->add_option("--t0", a.t0,
                  "lyapunov --perturb: token (embedding) or checkpoint (state) perturbed");
    c->add_option("--epsilon", a.epsilon,
                  "lyapunov --perturb: size relative to the RMS (default 1e-3)");
    c->add_option("--stride", a.stride, "tokens between state checkpoints (default 16)");
    c->add_option("--seed", a.seed, "lyapunov --perturb: noise seed");
    c->callback([&a] {
        if (!a.text && !a.text_file && !a.ids && !a.ids_file)
            throw CLI::ValidationError("give --text, --text-file, --ids or --ids-file");
    });
    return c;
}

int run_analyze(const AnalyzeArgs& a) {
    const std::vector<std::int32_t> ids = prompt_ids(a);
    if (ids.empty()) throw Error("analyze: the prompt has no tokens");
    const auto T = static_cast<std::int64_t>(ids.size());
    auto backend = make_backend(a.backend);
    auto model = Model::load(a.model_dir, *backend);
    const ModelSpec& spec = model->spec();
    json doc = {{"kind", a.kind},
                {"model", a.model_dir},
                {"model_type", spec.model_type},
                {"n_layers", spec.n_layers()},
                {"tokens", T},
                {"ids", ids},
                {"backend", backend->name()}};
    json layers = json::array();

    if (a.kind == "decay" || a.kind == "lyapunov") {
        CaptureOptions opt;
        opt.layers = chosen_layers(a, spec);
        opt.keep_delta = a.kind == "decay";
        opt.chunk = a.chunk;
        Captures cap = capture_prefill(*model, ids, opt, progress_line(a, "prefill"));
        std::optional<RetentionWindow> window;
        if (a.retention_from || a.retention_to) {
            if (!a.retention_from || !a.retention_to)
                throw Error("decay: give both --from and --to");
            window = RetentionWindow{*a.retention_from, *a.retention_to};
        }
        double model_max = -std::numeric_limits<double>::infinity();
        std::int64_t max_layer = -1;
        for (const auto& l : cap.layers) {
            if (a.kind == "decay") {
                layers.push_back(decay_json(l, decay_layer(l, T, window), T, window));
            } else {
                LyapunovLayer ly = lyapunov_exponents(l, T);
                if (ly.max > model_max) {
                    model_max = ly.max;
                    max_layer = l.index;
                }
                layers.push_back(lyapunov_json(ly));
            }
        }
        if (a.kind == "lyapunov") {
            doc["max"] = model_max;
            doc["argmax_layer"] = max_layer;
            doc["definition"] =
                "mamba2: lambda[h] = A[h] * mean_t delta[t,h]; mamba1: lambda[d] = max_n A[d,n] * "
                "mean_t delta[t,d] "
                "(ANALYSES.md 2.2, derived from the recurrence)";
            if (a.perturb != "none") {
                PerturbationOptions po;
                po.layers = opt.layers;
                po.t0 = a.t0;
                po.epsilon = a.epsilon;
                po.stride = a.stride;
                po.seed = a.seed;
                po.perturb_embedding = a.perturb == "embedding";
                doc["perturbation"] = perturbation_json(
                    measure_perturbation(*model, ids, po, progress_line(a, "perturbation runs")),
                    po);
            }
        } else {
            doc["definition"] =
                "delta after softplus (and the mamba2 time_step_limit clamp of a one-pass "
                "prefill); "
                "half_life = ln2/|lambda| [derived]";
        }
    } else {
        throw Error("analyze " + a.kind + " is not implemented yet");
    }
    doc["layers"] = std::move(layers);
    write_json(a.out, doc);
    return 0;
}

}  // namespace statescope::cli
