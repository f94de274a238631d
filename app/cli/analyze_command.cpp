#include "app/cli/analyze_command.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/commands.h"
#include "core/analysis/analysis_json.h"
#include "core/analysis/attention_probs.h"
#include "core/analysis/capture.h"
#include "core/analysis/decay.h"
#include "core/analysis/lens.h"
#include "core/analysis/longmamba.h"
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
                                         "attention",
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
    if (a.layers.empty()) return a.kind == "attention" ? attention_layers(spec) : ssm_layers(spec);
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
    c->add_option(
         "--perturb", a.perturb,
         "lyapunov: also measure perturbation growth: none, embedding, state or bf16-state")
        ->check(CLI::IsMember({"none", "embedding", "state", "bf16-state"}));
    c->add_option("--t0", a.t0,
                  "lyapunov --perturb: token (embedding) or checkpoint (state) perturbed");
    c->add_option("--epsilon", a.epsilon,
                  "lyapunov --perturb: size relative to the RMS (default 1e-3)");
    c->add_option("--stride", a.stride,
                  "tokens between state checkpoints (lyapunov --perturb: 16, state-stats: 128)");
    c->add_option("--state-at", a.state_at,
                  "state-stats: also the full state after these many tokens, e.g. 128,1024");
    c->add_option(
        "--clamp-top", a.clamp_top,
        "receptive-field, longmamba-calibrate: clamp delta at its k-th largest, k = int(T * x) "
        "(default 0.1; 0 = off)");
    c->add_option("--c", a.c, "receptive-field: global iff tA_prod > c (default 5e-2)");
    c->add_option("--window", a.window,
                  "longmamba-calibrate: window length in tokens (default 2000)");
    c->add_option("--samples", a.samples,
                  "longmamba-calibrate: windows over the text (default 100)");
    c->add_option("--aggregate", a.aggregate, "longmamba-calibrate: max or mean over windows")
        ->check(CLI::IsMember({"max", "mean"}));
    c->add_option("--lengths", a.lengths, "longmamba-calibrate: target lengths, e.g. 4000,8000");
    c->add_option("--units", a.units,
                  "implicit-attention: heads (mamba2) or channels (mamba1), e.g. 0,3-5");
    c->add_option("--top-k", a.top_k, "logit-lens: tokens per position (default 5)");
    c->add_option("--seed", a.seed, "lyapunov --perturb: noise seed");
    c->callback([&a] {
        if (!a.text && !a.text_file && !a.ids && !a.ids_file)
            throw CLI::ValidationError("give --text, --text-file, --ids or --ids-file");
    });
    return c;
}

namespace {

json receptive_field_json(const LayerCapture& l, const ReceptiveField& rf, double c) {
    json global = json::array(), log10 = json::array();
    std::int64_t n_global = 0;
    for (double v : rf.log_tA_prod) {
        const bool g = v > std::log(c);
        global.push_back(g);
        n_global += g;
        log10.push_back(v / std::log(10.0));
    }
    return {{"index", l.index},
            {"mixer", mixer_name(l.kind)},
            {"units", l.kind == MixerKind::Mamba2 ? "head" : "channel"},
            {"decay", rf.decay},
            {"log_tA_prod", rf.log_tA_prod},
            {"log10_tA_prod", log10},
            {"global", global},
            {"global_ratio", double(n_global) / double(std::max<std::size_t>(1, rf.decay.size()))}};
}

std::vector<std::int64_t> default_units(const LayerCapture& l) {
    std::vector<std::int64_t> u;
    if (l.kind == MixerKind::Mamba2) {
        for (std::int64_t h = 0; h < l.channels; ++h) u.push_back(h);
    } else {
        // DeciMamba's calculate_mamba_attn_maps: 10 channels, range(0, I, I / 10)
        const std::int64_t step = std::max<std::int64_t>(1, l.channels / 10);
        for (std::int64_t d = 0; d < l.channels && u.size() < 10; d += step) u.push_back(d);
    }
    return u;
}

}  // namespace

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
                {"backend", backend->name()}};
    if (a.kind != "longmamba-calibrate") doc["ids"] = ids;
    json layers = json::array();
    const std::vector<std::int64_t> chosen = chosen_layers(a, spec);

    if (a.kind == "decay" || a.kind == "lyapunov") {
        CaptureOptions opt;
        opt.layers = chosen;
        opt.keep_delta = a.kind == "decay";
        opt.chunk = a.chunk;
        std::optional<RetentionWindow> window;
        if (a.retention_from || a.retention_to) {
            if (!a.retention_from || !a.retention_to)
                throw Error("decay: give both --from and --to");
            window = RetentionWindow{*a.retention_from, *a.retention_to};
            if (window->from < 0 || window->to <= window->from || window->to >= T)
                throw Error("decay: the retention window --from " + std::to_string(window->from) +
                            " --to " + std::to_string(window->to) +
                            " must satisfy 0 <= from < to < " + std::to_string(T) +
                            " (the number of tokens)");
        }
        Captures cap = capture_prefill(*model, ids, opt, progress_line(a, "prefill"));
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
                "mean_t delta[t,d]; half_life = ln2/|lambda| (ANALYSES.md 2.2, [derived] from the "
                "recurrence)";
            if (a.perturb != "none") {
                PerturbationOptions po;
                po.layers = chosen;
                po.t0 = a.t0;
                po.epsilon = a.epsilon;
                po.stride = a.stride.value_or(16);
                po.seed = a.seed;
                po.perturb_embedding = a.perturb == "embedding";
                po.bf16_state = a.perturb == "bf16-state";
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
    } else if (a.kind == "state-stats") {
        CaptureOptions opt;
        opt.layers = chosen;
        opt.bc_norms = true;
        opt.state_stride = a.stride.value_or(128);
        if (opt.state_stride < 2) throw Error("state-stats: --stride must be at least 2");
        if (!a.state_at.empty()) {
            opt.state_positions = parse_layers(a.state_at);
            for (auto p : opt.state_positions)
                if (p < 2 || p > T)
                    throw Error("state-stats: --state-at " + std::to_string(p) + " is outside 2.." +
                                std::to_string(T) + " (the number of tokens)");
        }
        opt.chunk = a.chunk;
        Captures cap = capture_prefill(*model, ids, opt, progress_line(a, "prefill"));
        for (const auto& l : cap.layers) {
            json j = state_stats_json(l);
            j["b_norm"] = json::array();
            j["c_norm"] = json::array();
            for (std::int64_t t = 0; t < T; ++t) {
                const auto G = static_cast<std::ptrdiff_t>(l.n_groups);
                j["b_norm"].push_back(
                    std::vector<float>(l.b_norm.begin() + t * G, l.b_norm.begin() + (t + 1) * G));
                j["c_norm"].push_back(
                    std::vector<float>(l.c_norm.begin() + t * G, l.c_norm.begin() + (t + 1) * G));
            }
            if (!opt.state_positions.empty()) {
                const BlockSpec& b = spec.blocks[std::size_t(l.index)];
                json shape = l.kind == MixerKind::Mamba2
                                 ? json({l.channels, l.head_dim, l.d_state})
                                 : json({std::get<Mamba1Spec>(b.main().mixer).d_inner, l.d_state});
                json states = json::array();
                for (const auto& st : l.states)
                    states.push_back(
                        {{"position", st.position}, {"shape", shape}, {"values", st.state}});
                j["states"] = std::move(states);
            }
            layers.push_back(std::move(j));
        }
        doc["stride"] = opt.state_stride;
    } else if (a.kind == "receptive-field") {
        CaptureOptions opt;
        opt.layers = chosen;
        opt.keep_delta = true;
        opt.chunk = a.chunk;
        Captures cap = capture_prefill(*model, ids, opt, progress_line(a, "prefill"));
        for (const auto& l : cap.layers)
            layers.push_back(receptive_field_json(l, receptive_field(l, T, a.clamp_top), a.c));
        doc["clamp_top"] = a.clamp_top;
        doc["c"] = a.c;
        doc["lambda_threshold"] = std::log(a.c) / double(T);
    } else if (a.kind == "longmamba-calibrate") {
        CalibrationOptions co;
        co.layers = a.layers.empty() ? std::vector<std::int64_t>{} : chosen;
        co.window = a.window;
        co.samples = a.samples;
        co.clamp_top = a.clamp_top;
        co.aggregate = a.aggregate;
        if (!a.lengths.empty()) co.lengths = parse_layers(a.lengths);
        co.chunk = a.chunk;
        json cal =
            calibration_json(calibrate_longmamba(*model, ids, co, progress_line(a, "windows")));
        cal["model"] = a.model_dir;
        cal["tokens"] = T;
        write_json(a.out, cal);
        return 0;
    } else if (a.kind == "implicit-attention") {
        const std::int64_t to = a.retention_to.value_or(T);
        const std::int64_t from = a.retention_from.value_or(std::max<std::int64_t>(0, to - 256));
        if (from < 0 || to > T || to - from < 1)
            throw Error("implicit-attention: the window [" + std::to_string(from) + ", " +
                        std::to_string(to) + ") must lie inside the prompt's " + std::to_string(T) +
                        " tokens");
        CaptureOptions opt;
        opt.layers = chosen;
        opt.keep_delta = opt.keep_bc = true;
        opt.keep_from = from;
        opt.keep_to = to;
        opt.chunk = a.chunk;
        Captures cap = capture_prefill(*model, ids, opt, progress_line(a, "prefill"));
        const std::int64_t W = to - from;
        for (const auto& l : cap.layers) {
            const std::vector<std::int64_t> units =
                a.units.empty() ? default_units(l) : parse_layers(a.units);
            json mats = json::array();
            std::vector<double> mean(std::size_t(W * W), 0.0);
            for (auto u : units) {
                const std::vector<float> M = implicit_attention(l, u);
                json m = json::array();
                for (std::int64_t t = 0; t < W; ++t)
                    m.push_back(std::vector<float>(M.begin() + t * W, M.begin() + (t + 1) * W));
                for (std::size_t i = 0; i < M.size(); ++i) mean[i] += M[i] / double(units.size());
                mats.push_back(std::move(m));
            }
            json mm = json::array();
            for (std::int64_t t = 0; t < W; ++t)
                mm.push_back(std::vector<double>(mean.begin() + t * W, mean.begin() + (t + 1) * W));
            layers.push_back({{"index", l.index},
                              {"mixer", mixer_name(l.kind)},
                              {"units", l.kind == MixerKind::Mamba2 ? "head" : "channel"},
                              {"unit_ids", units},
                              {"matrices", mats},
                              {"mean", mm}});
        }
        doc["window"] = {{"from", from}, {"to", to}};
        doc["form"] =
            "matrices[u][t][s], query t and key s relative to window.from, s <= t (0 above the "
            "diagonal)";
    } else if (a.kind == "attention") {
        // softmax(q k^T * scale + mask) of the attention layers for the queries of a window, over
        // the keys of the same window (the implicit-attention window's real counterpart)
        const std::int64_t to = a.retention_to.value_or(T);
        const std::int64_t from = a.retention_from.value_or(std::max<std::int64_t>(0, to - 256));
        if (from < 0 || to > T || to - from < 1)
            throw Error("attention: the window [" + std::to_string(from) + ", " +
                        std::to_string(to) + ") must lie inside the prompt's " + std::to_string(T) +
                        " tokens");
        if (chosen.empty())
            throw Error("attention: " + a.model_dir + " has no attention layer (a " +
                        spec.model_type + " model)");
        AttentionProbsOptions opt;
        opt.layers = chosen;
        for (std::int64_t t = from; t < to; ++t) opt.queries.push_back(t);
        opt.key_from = from;
        opt.key_to = to;
        const auto probs = capture_attention_probs(*model, ids, opt, progress_line(a, "prefill"));
        const std::int64_t W = to - from;
        for (const auto& l : probs) {
            json heads = json::array();
            for (std::int64_t h = 0; h < l.n_heads; ++h) {
                json m = json::array();
                for (std::int64_t q = 0; q < W; ++q) {
                    std::vector<float> row(static_cast<std::size_t>(W), 0.0f);
                    for (std::int64_t j = 0; j < W; ++j) row[std::size_t(j)] = l.at(q, h, from + j);
                    m.push_back(std::move(row));
                }
                heads.push_back(std::move(m));
            }
            layers.push_back({{"index", l.index},
                              {"mixer", "attention"},
                              {"units", "head"},
                              {"n_heads", l.n_heads},
                              {"n_kv_heads", l.n_kv_heads},
                              {"head_dim", l.head_dim},
                              {"scale", l.scale},
                              {"sliding_window", l.window},
                              {"probs", heads}});
        }
        doc["window"] = {{"from", from}, {"to", to}};
        doc["form"] =
            "probs[h][q][j], query q and key j relative to window.from, 0 above the diagonal; each "
            "row's softmax runs over every key 0..q, so a row sums to 1 only when window.from = 0";
    } else if (a.kind == "logit-lens") {
        std::vector<std::int64_t> lens_layers;
        if (!a.layers.empty()) lens_layers = chosen;
        std::optional<Tokenizer> tok;
        const fs::path tok_path = fs::path(a.model_dir) / "tokenizer.json";
        if (fs::exists(tok_path)) tok = Tokenizer::from_file(tok_path);
        const auto lens =
            logit_lens(*model, ids, lens_layers, a.top_k, std::min<std::int64_t>(a.chunk, 64),
                       progress_line(a, "prefill"));
        for (const auto& l : lens) {
            const std::int64_t k = static_cast<std::int64_t>(l.top_ids.size()) / T;
            json top = json::array(), probs = json::array(), text = json::array();
            for (std::int64_t t = 0; t < T; ++t) {
                std::vector<std::int32_t> row(l.top_ids.begin() + t * k,
                                              l.top_ids.begin() + (t + 1) * k);
                probs.push_back(std::vector<float>(l.top_probs.begin() + t * k,
                                                   l.top_probs.begin() + (t + 1) * k));
                if (tok) {
                    json tr = json::array();
                    for (auto id : row) tr.push_back(tok->decode(std::vector<std::int32_t>{id}));
                    text.push_back(std::move(tr));
                }
                top.push_back(std::move(row));
            }
            json next = json::array();
            for (float p : l.next_prob) next.push_back(std::isfinite(p) ? json(p) : json(nullptr));
            json j = {{"index", l.index},
                      {"mixer", spec.blocks[std::size_t(l.index)].main().kind_name()},
                      {"top_ids", top},
                      {"top_probs", probs},
                      {"next_prob", next},
                      {"next_rank", l.next_rank}};
            if (tok) j["top_text"] = std::move(text);
            layers.push_back(std::move(j));
        }
        doc["top_k"] = a.top_k;
    }
    doc["layers"] = std::move(layers);
    write_json(a.out, doc);
    return 0;
}

}  // namespace statescope::cli
