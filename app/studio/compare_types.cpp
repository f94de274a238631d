#include "app/studio/compare_types.h"

#include <cmath>

#include "core/error.h"

namespace statescope::studio {

using nlohmann::json;

namespace {

// A finite number, or null (JSON has no NaN; nlohmann would write null anyway, this reads it back).
json number(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}
double number_from(const json& j) {
    return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        throw Error(std::string("comparison JSON: field \"") + key + "\" has the wrong type");
    }
}

std::vector<double> doubles(const json& j, const char* key) {
    std::vector<double> out;
    if (auto it = j.find(key); it != j.end() && it->is_array())
        for (const auto& v : *it) out.push_back(number_from(v));
    return out;
}

json numbers(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(number(x));
    return a;
}

}  // namespace

json to_json(const CompareRequest& r) {
    return {{"model_dirs", r.model_dirs},
            {"prompt", r.prompt},
            {"text", r.text},
            {"max_new_tokens", r.max_new_tokens},
            {"sampler",
             {{"temperature", r.sampler.temperature},
              {"top_k", r.sampler.top_k},
              {"top_p", r.sampler.top_p},
              {"min_p", r.sampler.min_p},
              {"repetition_penalty", r.sampler.repetition_penalty},
              {"seed", r.sampler.seed}}},
            {"context_lengths", r.context_lengths},
            {"backend", r.backend},
            {"together", r.together}};
}

CompareRequest request_from_json(const json& j) {
    if (!j.is_object()) throw Error("comparison JSON: \"request\" must be an object");
    CompareRequest r;
    r.model_dirs = get_or(j, "model_dirs", std::vector<std::string>{});
    r.prompt = get_or(j, "prompt", std::string());
    r.text = get_or(j, "text", std::string());
    r.max_new_tokens = get_or(j, "max_new_tokens", r.max_new_tokens);
    if (auto s = j.find("sampler"); s != j.end() && s->is_object()) {
        r.sampler.temperature = get_or(*s, "temperature", r.sampler.temperature);
        r.sampler.top_k = get_or(*s, "top_k", r.sampler.top_k);
        r.sampler.top_p = get_or(*s, "top_p", r.sampler.top_p);
        r.sampler.min_p = get_or(*s, "min_p", r.sampler.min_p);
        r.sampler.repetition_penalty =
            get_or(*s, "repetition_penalty", r.sampler.repetition_penalty);
        r.sampler.seed = get_or(*s, "seed", r.sampler.seed);
    }
    r.context_lengths = get_or(j, "context_lengths", r.context_lengths);
    r.backend = get_or(j, "backend", r.backend);
    r.together = get_or(j, "together", r.together);
    return r;
}

json to_json(const ModelResult& r) {
    json memory = json::array();
    for (const auto& m : r.memory)
        memory.push_back({{"context", m.context},
                          {"allocated_bytes", m.allocated_bytes},
                          {"used_bytes", m.used_bytes}});
    json loss = json::array();
    for (const auto& t : r.loss)
        loss.push_back({{"id", t.id}, {"piece", t.piece}, {"nll", number(t.nll)}});
    return {{"dir", r.dir},
            {"name", r.name},
            {"model_type", r.model_type},
            {"layer_pattern", r.layer_pattern},
            {"backend", r.backend},
            {"tokenizer", r.tokenizer},
            {"error", r.error},
            {"cancelled", r.cancelled},
            {"output", r.output},
            {"prompt_tokens", r.prompt_tokens},
            {"generated_tokens", r.generated_tokens},
            {"ttft_s", r.ttft_s},
            {"prefill_s", r.prefill_s},
            {"decode_s", r.decode_s},
            {"prefill_tok_s", r.prefill_tok_s},
            {"decode_tok_s", r.decode_tok_s},
            {"weight_bytes", r.weight_bytes},
            {"state_bytes", r.state_bytes},
            {"recurrent_state_bytes", r.recurrent_state_bytes},
            {"kv_bytes_per_token", r.kv_bytes_per_token},
            {"memory", memory},
            {"loss", loss},
            {"mean_nll", number(r.mean_nll)},
            {"decay",
             {{"layers", r.decay.layers},
              {"median_half_life", numbers(r.decay.median_half_life)},
              {"p10_half_life", numbers(r.decay.p10_half_life)},
              {"p90_half_life", numbers(r.decay.p90_half_life)}}}};
}

ModelResult model_result_from_json(const json& j) {
    if (!j.is_object()) throw Error("comparison JSON: each of \"models\" must be an object");
    ModelResult r;
    r.dir = get_or(j, "dir", std::string());
    r.name = get_or(j, "name", std::string());
    r.model_type = get_or(j, "model_type", std::string());
    r.layer_pattern = get_or(j, "layer_pattern", std::string());
    r.backend = get_or(j, "backend", std::string());
    r.tokenizer = get_or(j, "tokenizer", std::string());
    r.error = get_or(j, "error", std::string());
    r.cancelled = get_or(j, "cancelled", false);
    r.output = get_or(j, "output", std::string());
    r.prompt_tokens = get_or(j, "prompt_tokens", std::int64_t(0));
    r.generated_tokens = get_or(j, "generated_tokens", std::int64_t(0));
    r.ttft_s = get_or(j, "ttft_s", 0.0);
    r.prefill_s = get_or(j, "prefill_s", 0.0);
    r.decode_s = get_or(j, "decode_s", 0.0);
    r.prefill_tok_s = get_or(j, "prefill_tok_s", 0.0);
    r.decode_tok_s = get_or(j, "decode_tok_s", 0.0);
    r.weight_bytes = get_or(j, "weight_bytes", std::int64_t(0));
    r.state_bytes = get_or(j, "state_bytes", std::int64_t(0));
    r.recurrent_state_bytes = get_or(j, "recurrent_state_bytes", std::int64_t(0));
    r.kv_bytes_per_token = get_or(j, "kv_bytes_per_token", std::int64_t(0));
    if (auto m = j.find("memory"); m != j.end() && m->is_array())
        for (const auto& p : *m)
            r.memory.push_back({get_or(p, "context", std::int64_t(0)),
                                get_or(p, "allocated_bytes", std::int64_t(0)),
                                get_or(p, "used_bytes", std::int64_t(0))});
    if (auto l = j.find("loss"); l != j.end() && l->is_array())
        for (const auto& t : *l) {
            TokenLoss tl;
            tl.id = get_or(t, "id", std::int32_t(0));
            tl.piece = get_or(t, "piece", std::string());
            tl.nll = number_from(t.value("nll", json()));
            r.loss.push_back(std::move(tl));
        }
    r.mean_nll = number_from(j.value("mean_nll", json()));
    if (auto d = j.find("decay"); d != j.end() && d->is_object()) {
        r.decay.layers = get_or(*d, "layers", std::vector<std::int64_t>{});
        r.decay.median_half_life = doubles(*d, "median_half_life");
        r.decay.p10_half_life = doubles(*d, "p10_half_life");
        r.decay.p90_half_life = doubles(*d, "p90_half_life");
    }
    return r;
}

json to_json(const CompareResult& r) {
    json models = json::array();
    for (const auto& m : r.models) models.push_back(to_json(m));
    return {{"format", "statescope.compare"},
            {"version", 1},
            {"request", to_json(r.request)},
            {"models", models}};
}

CompareResult compare_result_from_json(const json& j) {
    if (!j.is_object() || j.value("format", std::string()) != "statescope.compare")
        throw Error("not a saved comparison: \"format\" is not \"statescope.compare\"");
    CompareResult r;
    r.request = request_from_json(j.value("request", json::object()));
    if (auto m = j.find("models"); m != j.end() && m->is_array())
        for (const auto& x : *m) r.models.push_back(model_result_from_json(x));
    return r;
}

}  // namespace statescope::studio
