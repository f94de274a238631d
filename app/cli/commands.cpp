#include "app/cli/commands.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/chat_command.h"
#include "app/cli/npy.h"
#include "core/analysis/longmamba.h"
#include "core/analysis/probes/prompts.h"
#include "core/error.h"
#include "core/model/config.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

Tokenizer load_tokenizer(const TokenizerSource& src) {
    if (!src.tokenizer_file.empty()) return Tokenizer::from_file(src.tokenizer_file);
    const fs::path path = fs::path(src.model_dir) / "tokenizer.json";
    if (!fs::exists(path)) throw Error("no tokenizer: " + path.string() + " does not exist");
    return Tokenizer::from_file(path);
}

std::string ids_json(const std::vector<std::int32_t>& ids) {
    std::string s = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s + "]";
}

bool has_chat_template(const fs::path& dir) {
    if (fs::exists(dir / "chat_template.jinja")) return true;
    const fs::path cfg = dir / "tokenizer_config.json";
    if (!fs::exists(cfg)) return false;
    try {
        return Config::load(cfg).has("chat_template");
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

LoadOptions load_options(const std::string& dtype) {
    LoadOptions o;
    if (dtype.empty()) return o;
    if (dtype == "fp32" || dtype == "f32" || dtype == "float32")
        o.weight_dtype = kernels::DType::F32;
    else if (dtype == "bf16" || dtype == "bfloat16")
        o.weight_dtype = kernels::DType::BF16;
    else if (dtype == "fp16" || dtype == "f16" || dtype == "float16")
        o.weight_dtype = kernels::DType::F16;
    else
        throw Error("--dtype " + dtype + " is not one of fp32, bf16, fp16");
    return o;
}

std::vector<std::int32_t> parse_ids(const std::string& text, const std::string& what) {
    std::vector<std::int32_t> ids;
    std::string token;
    std::size_t index = 0;
    auto flush = [&] {
        if (token.empty()) return;
        std::size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(token, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != token.size() || v < 0 || v > 0x7fffffff)
            throw Error(what + ": entry " + std::to_string(index) + " (\"" + token +
                        "\") is not a token id");
        ids.push_back(static_cast<std::int32_t>(v));
        ++index;
        token.clear();
    };
    for (char c : text) {
        if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            flush();
        } else {
            token += c;
        }
    }
    flush();
    return ids;
}

int run_info(const InfoArgs& a) {
    auto backend = make_backend("cpu");
    const fs::path dir(a.model_dir);
    WeightStore weights = [&] {
        if (!fs::is_directory(dir))
            throw Error("cannot load model: " + dir.string() + " is not a folder");
        return WeightStore::open_dir(dir);
    }();
    ModelSpec spec = load_model_spec(dir, weights);
    json kinds = json::array();
    for (const auto& b : spec.blocks) {
        std::string k;
        for (const auto& p : b.parts) k += (k.empty() ? "" : "+") + std::string(p.kind_name());
        kinds.push_back(k);
    }
    std::size_t weight_bytes = 0;
    for (const auto& name : weights.names()) weight_bytes += weights.find(name)->bytes;
    // Memory accounting from the bound model: fp32 state, whatever the weight dtype.
    auto model = Model::load(dir, *backend);
    json out = {
        {"model_type", spec.model_type},
        {"architecture", spec.architecture},
        {"n_layers", spec.n_layers()},
        {"layer_kinds", kinds},
        {"layer_pattern", spec.layer_pattern()},
        {"weight_bytes", weight_bytes},
        {"recurrent_state_bytes_per_sequence", model->recurrent_state_bytes()},
        {"kv_cache_bytes_per_token", model->kv_bytes_per_token()},
        {"d_model", spec.d_model},
        {"vocab_size", spec.vocab_size},
        {"n_params", spec.n_params},
        {"weight_dtype", spec.weight_dtype},
        {"tied_embeddings", spec.tied_embeddings},
        {"has_tokenizer", fs::exists(dir / "tokenizer.json")},
        {"has_chat_template", has_chat_template(dir)},
    };
    std::cout << out.dump(2) << "\n";
    return 0;
}

int run_tokenize(const TokenizeArgs& a) {
    Tokenizer tok = load_tokenizer(a.source);
    if (a.text) {
        std::cout << ids_json(tok.encode(*a.text, a.add_special_tokens)) << "\n";
    } else if (a.text_file) {
        std::cout << ids_json(tok.encode(read_file(*a.text_file), a.add_special_tokens)) << "\n";
    } else {
        std::ifstream in(*a.jsonl, std::ios::binary);
        if (!in) throw Error("cannot open " + *a.jsonl);
        std::string line, out;
        std::size_t line_no = 0;
        while (std::getline(in, line)) {
            ++line_no;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.find_first_not_of(" \t") == std::string::npos)
                continue;  // blank lines carry no string
            json v;
            try {
                v = json::parse(line);
            } catch (const json::exception& e) {
                throw Error(*a.jsonl + ":" + std::to_string(line_no) +
                            ": not valid JSON: " + e.what());
            }
            if (!v.is_string())
                throw Error(*a.jsonl + ":" + std::to_string(line_no) + ": expected a JSON string");
            try {
                out += ids_json(tok.encode(v.get<std::string>(), a.add_special_tokens)) + "\n";
            } catch (const Error& e) {
                throw Error(*a.jsonl + ":" + std::to_string(line_no) + ": " + e.what());
            }
        }
        std::cout << out;
    }
    return 0;
}

int run_detokenize(const DetokenizeArgs& a) {
    Tokenizer tok = load_tokenizer(a.source);
    const auto ids = parse_ids(a.ids, "--ids");
    std::cout << tok.decode(ids, a.skip_special_tokens);
    std::cout.flush();
    return 0;
}

int run_logits(const LogitsArgs& a) {
    const auto ids =
        a.ids ? parse_ids(*a.ids, "--ids") : parse_ids(read_file(*a.ids_file), *a.ids_file);
    if (ids.empty()) throw Error("logits: no token ids given");
    const auto T = static_cast<std::int64_t>(ids.size());
    const LoadOptions load = load_options(a.dtype);
    auto backend = make_backend(a.backend);
    auto model = Model::load(a.model_dir, *backend, load);
    const std::int64_t V = model->spec().vocab_size;
    Sequence seq(*model);
    std::vector<float> all;
    if (!a.decode_from) {
        model->forward(seq, ids, LogitRows::All, &all);
    } else {
        const std::int64_t P = *a.decode_from;
        if (P < 1 || P > T)
            throw Error("--decode-from " + std::to_string(P) + " is outside 1.." +
                        std::to_string(T) + " (the number of ids)");
        std::vector<float> rows;
        model->forward(seq, std::span(ids).first(std::size_t(P)), LogitRows::All, &rows);
        all = std::move(rows);
        all.reserve(std::size_t(T * V));
        for (std::int64_t t = P; t < T; ++t) {
            model->forward(seq, std::span(ids).subspan(std::size_t(t), 1), LogitRows::Last, &rows);
            all.insert(all.end(), rows.begin(), rows.end());
        }
    }
    write_npy_f32(a.out, all, {T, V});
    return 0;
}

void apply_generate_flags(const GenerateArgs& a, GenerateOptions& opts) {
    if (a.max_new < 0) throw Error("--max-new must be >= 0");
    opts.max_new_tokens = a.max_new;
    opts.sampler.temperature = a.greedy ? 0.0f : a.temperature;
    opts.sampler.top_k = a.top_k;
    opts.sampler.top_p = a.top_p;
    opts.sampler.min_p = a.min_p;
    opts.sampler.repetition_penalty = a.repeat_penalty;
    opts.sampler.presence_penalty = a.presence_penalty;
    opts.sampler.frequency_penalty = a.frequency_penalty;
    opts.sampler.seed = a.seed;
    opts.stop_strings = a.stop;
}

void apply_context(GenerateArgs& a) {
    if (!a.context_file) {
        if (a.jrt) throw Error("--jrt needs --context-file (the document to read twice)");
        return;
    }
    if (!a.prompt) throw Error("--context-file needs --prompt (the question after the document)");
    const std::string context = read_file(*a.context_file);
    a.prompt = a.jrt ? jrt_prompt(context, *a.prompt) : context + *a.prompt;
}

int run_generate(const GenerateArgs& a) {
    if (a.chat) return run_generate_chat(a);
    if (a.system) throw Error("generate: --system needs --chat");
    const LoadOptions load = load_options(a.dtype);
    auto backend = make_backend(a.backend);
    auto model = Model::load(a.model_dir, *backend, load);
    std::optional<Tokenizer> tok;
    const fs::path tok_path = fs::path(a.model_dir) / "tokenizer.json";
    if (fs::exists(tok_path)) tok = Tokenizer::from_file(tok_path);
    std::vector<std::int32_t> prompt;
    if (a.prompt) {
        if (!tok)
            throw Error("generate --prompt needs a tokenizer, and " + tok_path.string() +
                        " does not exist (use --ids)");
        prompt = tok->encode(*a.prompt, true);
    } else {
        prompt = parse_ids(*a.ids, "--ids");
    }
    if (prompt.empty()) throw Error("generate: the prompt is empty");
    GenerateOptions opts;
    apply_generate_flags(a, opts);
    if (tok) opts.detokenize = [&](std::span<const std::int32_t> ids) { return tok->decode(ids); };
    opts.stop_ids = model->spec().eos_token_ids;
    const fs::path gen_cfg = fs::path(a.model_dir) / "generation_config.json";
    if (fs::exists(gen_cfg)) {
        auto ids = Config::load(gen_cfg).get_int_list("eos_token_id");
        if (!ids.empty()) opts.stop_ids = ids;
    }
    // Stream text as it comes unless JSON was asked for: generate() hands over whole characters
    // and holds back what may still become a stop string.
    if (tok && !a.json)
        opts.on_text = [](std::string_view piece) {
            std::cout.write(piece.data(), std::streamsize(piece.size()));
            std::cout.flush();
        };
    Sequence seq(*model);
    std::vector<std::int32_t> out_ids;
    std::unique_ptr<LongMambaFilter> filter;
    if (!a.longmamba.empty()) {
        filter = std::make_unique<LongMambaFilter>(
            calibration_from_json(json::parse(read_file(a.longmamba))),
            LongMambaFilter::Settings{a.longmamba_c, a.longmamba_b, a.longmamba_min_tokens, true});
        filter->check(model->spec());
        filter->begin_prompt(static_cast<std::int64_t>(prompt.size()));
        model->add_observer(filter.get());
    }
    GenerateStats stats = generate(*model, seq, prompt, opts, nullptr, &out_ids);
    if (filter) {
        model->remove_observer(filter.get());
        if (!a.json)
            std::cerr << "longmamba: " << (filter->active() ? "filtered" : "not active on")
                      << " the prompt (" << prompt.size() << " tokens, thresholds for "
                      << filter->target_length() << ")\n";
    }
    if (a.json) {
        json out = {
            {"prompt_ids", prompt},
            {"ids", out_ids},
            {"prompt_tokens", stats.prompt_tokens},
            {"generated_tokens", stats.generated_tokens},
            {"stop_reason", stop_reason_name(stats.stop)},
            {"ttft_ms", stats.time_to_first_token * 1e3},
            {"prefill_tok_s", stats.prefill_tokens_per_s()},
            {"decode_tok_s", stats.decode_tokens_per_s()},
            {"backend", backend->name()},
        };
        if (tok) out["text"] = stats.text;
        if (filter) out["longmamba"] = filter_masks_json(*filter);
        std::cout << out.dump(2) << "\n";
    } else if (tok) {
        std::cout << "\n";
    } else {
        std::cout << ids_json(out_ids) << "\n";
    }
    return 0;
}

}  // namespace statescope::cli
