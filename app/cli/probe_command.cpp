#include "app/cli/probe_command.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/analysis/longmamba.h"
#include "core/analysis/probes/perplexity.h"
#include "core/analysis/probes/probe_json.h"
#include "core/analysis/probes/probe_runner.h"
#include "core/analysis/probes/probe_store.h"
#include "core/error.h"
#include "core/model/config.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/store/model_fingerprint.h"
#include "core/store/session_store.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kProbeKinds = {"passkey", "needle", "phonebook", "perplexity"};

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// Written next to the target and renamed over it: a cancelled or failed run never leaves half a
// file where a previous result was.
void write_json(const std::string& path, const json& j) {
    const std::string temp = path + ".partial";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot write " + temp);
        out << j.dump() << "\n";
        if (!out) throw Error("cannot write " + temp);
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) throw Error("cannot move " + temp + " to " + path + ": " + ec.message());
}

std::vector<std::int64_t> eos_ids(const std::string& model_dir, const ModelSpec& spec) {
    const fs::path gen_cfg = fs::path(model_dir) / "generation_config.json";
    if (fs::exists(gen_cfg)) {
        auto ids = Config::load(gen_cfg).get_int_list("eos_token_id");
        if (!ids.empty()) return ids;
    }
    return spec.eos_token_ids;
}

}  // namespace

std::vector<std::int64_t> parse_lengths(const std::string& text) {
    std::vector<std::int64_t> out;
    for (const auto& item : split_list(text)) {
        std::string num = item;
        std::int64_t scale = 1;
        if (!num.empty() && (num.back() == 'k' || num.back() == 'K')) {
            scale = 1024;
            num.pop_back();
        }
        std::size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(num, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (num.empty() || used != num.size() || v < 1)
            throw Error("--lengths: \"" + item + "\" is not a token count such as 512 or 4k");
        out.push_back(static_cast<std::int64_t>(v) * scale);
    }
    if (out.empty()) throw Error("--lengths: no length given");
    return out;
}

std::vector<double> parse_depths(const std::string& text) {
    std::vector<double> out;
    for (const auto& item : split_list(text)) {
        std::size_t used = 0;
        double v = -1;
        try {
            v = std::stod(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || !(v >= 0.0 && v <= 1.0))
            throw Error("--depths: \"" + item + "\" is not a fraction in [0, 1]");
        out.push_back(v);
    }
    if (out.empty()) throw Error("--depths: no depth given");
    return out;
}

fs::path default_corpus_file() {
    std::vector<fs::path> tried;
    if (const char* dir = std::getenv("STATESCOPE_CORPUS_DIR"); dir && *dir)
        tried.push_back(fs::path(dir) / "alice.txt");
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) tried.push_back(exe.parent_path().parent_path() / "share/statescope/corpus/alice.txt");
#ifdef STATESCOPE_SOURCE_CORPUS_DIR
    tried.push_back(fs::path(STATESCOPE_SOURCE_CORPUS_DIR) / "alice.txt");
#endif
    std::string where;
    for (const auto& p : tried) {
        if (fs::is_regular_file(p)) return p;
        where += (where.empty() ? "" : ", ") + p.string();
    }
    throw Error("the default background text alice.txt was not found (looked in " + where +
                "); give --text-file or set STATESCOPE_CORPUS_DIR");
}

CLI::App* add_probe_command(CLI::App& app, ProbeArgs& a) {
    auto* c = app.add_subcommand(
        "probe",
        "recall probes (passkey, needle, phonebook) over a lengths x depths grid, or the "
        "per-token loss over a text (perplexity), written as JSON");
    c->add_option("kind", a.kind, "passkey, needle, phonebook or perplexity")
        ->required()
        ->check(CLI::IsMember(kProbeKinds));
    c->add_option("--model", a.model_dir, "checkpoint folder (with tokenizer.json)")->required();
    c->add_option("--lengths", a.lengths,
                  "context lengths in tokens, k = 1024 (default 1k,2k,4k,8k)");
    c->add_option("--depths", a.depths,
                  "needle positions as fractions of the context (default 0,0.25,0.5,0.75,1)");
    c->add_option("--samples", a.samples, "prompts per (length, depth) cell (default 1)");
    c->add_option("--seed", a.seed, "seed of the prompts (default 123)");
    c->add_flag("--jrt", a.jrt, "\"just read twice\": the context twice before the question");
    c->add_option("--text-file", a.text_file,
                  "needle: background text (default: the shipped Alice, or "
                  "$STATESCOPE_CORPUS_DIR/alice.txt); "
                  "perplexity: the text");
    c->add_option("--max-new", a.max_new,
                  "tokens to generate at most (default: passkey 8, needle 10, phonebook 16)");
    c->add_option("--max-tokens", a.max_tokens, "perplexity: read at most this many tokens");
    c->add_option("--windows", a.windows,
                  "perplexity: LongMamba's protocol instead, up to 10 windows of each length "
                  "(e.g. 2k,10k), loss on the last --pred-len tokens of each");
    c->add_option("--pred-len", a.pred_len,
                  "perplexity --windows: tokens scored at each window's end (default 100)");
    c->add_option("--chunk", a.chunk, "prefill chunk in tokens (default 512)");
    c->add_option("--backend", a.backend, "cpu (cuda when built with it)");
    c->add_option("--longmamba", a.longmamba,
                  "filter each prompt's tokens per LongMamba with this calibration (analyze "
                  "longmamba-calibrate)");
    c->add_option("--longmamba-c", a.longmamba_c, "global iff tA_prod > c (default 5e-2)");
    c->add_option("--longmamba-b", a.longmamba_b, "threshold factor b (default 1)");
    c->add_option("--longmamba-min-tokens", a.longmamba_min_tokens,
                  "filter only prompts of at least this many tokens (default 3000)");
    c->add_flag("--save", a.save, "also keep the result in the session store");
    c->add_option("--db", a.db, "session database for --save (default: the user's)");
    c->add_option("--out", a.out, "output JSON file")->required();
    c->add_flag("--quiet", a.quiet, "no progress line");
    c->add_flag("--keep-prompts", a.keep_prompts, "each sample's prompt text in the JSON");
    return c;
}

int run_probe(const ProbeArgs& a) {
    if (a.samples < 1) throw Error("--samples must be at least 1");
    if (a.chunk < 1) throw Error("--chunk must be at least 1");
    const fs::path tok_path = fs::path(a.model_dir) / "tokenizer.json";
    if (!fs::exists(tok_path))
        throw Error("probe needs the model's tokenizer, and " + tok_path.string() +
                    " does not exist");
    const Tokenizer tok = Tokenizer::from_file(tok_path);
    TextCodec codec;
    codec.encode = [&tok](std::string_view s) { return tok.encode(std::string(s), false); };
    codec.encode_prompt = [&tok](std::string_view s) { return tok.encode(std::string(s), true); };
    codec.decode = [&tok](std::span<const std::int32_t> ids) { return tok.decode(ids); };

    auto backend = make_backend(a.backend);
    auto model = Model::load(a.model_dir, *backend);
    const ModelInfo info = model_info_for(a.model_dir);
    auto progress = [&a](const char* what) -> std::function<bool(std::int64_t, std::int64_t)> {
        if (a.quiet) return {};
        return [what, kind = a.kind](std::int64_t done, std::int64_t total) {
            std::cerr << "\rprobe " << kind << ": " << what << " " << done << "/" << total
                      << std::flush;
            if (done == total) std::cerr << "\n";
            return true;
        };
    };

    std::unique_ptr<LongMambaFilter> filter;
    if (!a.longmamba.empty()) {
        filter = std::make_unique<LongMambaFilter>(
            calibration_from_json(json::parse(slurp(a.longmamba))),
            LongMambaFilter::Settings{a.longmamba_c, a.longmamba_b, a.longmamba_min_tokens, false});
    }
    json doc, params;
    if (a.kind == "perplexity") {
        const fs::path text_file =
            a.text_file.empty() ? default_corpus_file() : fs::path(a.text_file);
        std::vector<std::int32_t> ids = tok.encode(slurp(text_file), true);
        if (a.max_tokens > 0 && std::int64_t(ids.size()) > a.max_tokens)
            ids.resize(std::size_t(a.max_tokens));
        PerplexityOptions po;
        po.chunk = a.chunk;
        po.longmamba = filter.get();
        if (!a.windows.empty()) {
            WindowedOptions wo;
            wo.windows = parse_lengths(a.windows);
            wo.pred_len = a.pred_len;
            const WindowedLoss loss = windowed_loss(*model, ids, wo, po, progress("windows"));
            if (loss.windows.empty())
                throw Error("perplexity: the text has " + std::to_string(ids.size()) +
                            " tokens, fewer than every --windows length");
            doc = windowed_loss_json(loss, wo);
            doc["tokens"] = static_cast<std::int64_t>(ids.size());
        } else {
            const TokenLoss loss = token_loss(*model, ids, po, progress("tokens"));
            std::vector<std::string> pieces;
            pieces.reserve(ids.size());
            for (auto id : ids) pieces.push_back(tok.decode(std::vector<std::int32_t>{id}));
            doc = token_loss_json(loss, ids, pieces, a.chunk);
        }
        doc["text_file"] = text_file.string();
        params = {{"text_file", text_file.string()},
                  {"max_tokens", a.max_tokens},
                  {"chunk", a.chunk},
                  {"windows", a.windows},
                  {"pred_len", a.pred_len}};
    } else {
        ProbeOptions o;
        o.kind = *probe_kind_from_name(a.kind);
        o.lengths = parse_lengths(a.lengths);
        o.depths = parse_depths(a.depths);
        o.samples = a.samples;
        o.seed = a.seed;
        o.jrt = a.jrt;
        o.max_new_tokens = a.max_new;
        o.prefill_chunk = a.chunk;
        o.stop_ids = eos_ids(a.model_dir, model->spec());
        o.keep_prompts = a.keep_prompts;
        std::optional<Haystack> haystack;
        fs::path corpus;
        if (o.kind == ProbeKind::Needle) {
            corpus = a.text_file.empty() ? default_corpus_file() : fs::path(a.text_file);
            haystack = Haystack::from_text(slurp(corpus), codec);
        } else if (!a.text_file.empty()) {
            throw Error("--text-file is for needle and perplexity, not " + a.kind);
        }
        ProbeHooks hooks;
        hooks.progress = progress("samples");
        if (!a.quiet)
            hooks.prompt_progress = [&a](std::int64_t done, std::int64_t total, std::int64_t read,
                                         std::int64_t of) {
                if (read < of)
                    std::cerr << "\rprobe " << a.kind << ": samples " << done << "/" << total
                              << " (prompt " << read << "/" << of << " tokens)" << std::flush;
            };
        hooks.longmamba = filter.get();
        const ProbeRun run =
            statescope::run_probe(*model, codec, o, haystack ? &*haystack : nullptr, hooks);
        doc = probe_run_json(run);
        params = doc["options"];
        if (haystack) {
            doc["corpus"] = {{"file", corpus.string()},
                             {"sentences", static_cast<std::int64_t>(haystack->sentences.size())}};
            params["corpus"] = corpus.string();
        }
    }
    if (filter) {
        doc["longmamba"] = {{"file", a.longmamba},
                            {"c", a.longmamba_c},
                            {"b", a.longmamba_b},
                            {"min_tokens", a.longmamba_min_tokens}};
        params["longmamba"] = doc["longmamba"];
    } else {
        doc["longmamba"] = nullptr;
    }
    doc["model"] = {{"path", a.model_dir},
                    {"model_type", info.model_type},
                    {"content_hash", info.content_hash}};
    doc["backend"] = backend->name();
    params["backend"] = backend->name();
    if (a.save) {
        SessionStore store(a.db.empty() ? SessionStore::default_path() : fs::path(a.db));
        const RowRef ref = save_probe_run(store, info, a.kind, params, doc);
        store.flush();
        doc["store"] = {{"db", store.path().string()}, {"analysis_run", ref.id()}};
    }
    write_json(a.out, doc);
    return 0;
}

}  // namespace statescope::cli
