#include <set>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

namespace {
std::string shape_text(std::initializer_list<std::int64_t> shape) {
    std::string s = "[";
    bool first = true;
    for (auto d : shape) {
        s += (first ? "" : ", ") + std::to_string(d);
        first = false;
    }
    return s + "]";
}
}  // namespace

void expect_shape(const WeightStore& w, const std::string& name,
                  std::initializer_list<std::int64_t> shape, const std::string& why) {
    const TensorInfo& t = w.get(name);
    if (t.shape != std::vector<std::int64_t>(shape))
        throw Error("cannot load model: tensor \"" + name + "\" has shape " + t.shape_string() +
                    ", expected " + shape_text(shape) + " (" + why + ")");
    if (t.dtype != StDType::F32 && t.dtype != StDType::BF16 && t.dtype != StDType::F16)
        t.weight_dtype();
}

const TensorInfo& expect_rank(const WeightStore& w, const std::string& name, std::size_t rank) {
    const TensorInfo& t = w.get(name);
    if (t.shape.size() != rank)
        throw Error("cannot load model: tensor \"" + name + "\" has shape " + t.shape_string() +
                    ", expected " + std::to_string(rank) + " dimensions");
    return t;
}

void fill_common(ModelSpec& spec, const Config& cfg, const WeightStore& w) {
    if (cfg.has("architectures") && cfg.json()["architectures"].is_array() &&
        !cfg.json()["architectures"].empty() && cfg.json()["architectures"][0].is_string())
        spec.architecture = cfg.json()["architectures"][0].get<std::string>();
    spec.eos_token_ids = cfg.get_int_list("eos_token_id");
    spec.bos_token_id = cfg.get_int("bos_token_id", -1);
    spec.pad_token_id = cfg.get_int("pad_token_id", -1);
    std::set<std::string> dtypes;
    spec.n_params = 0;
    for (const auto& name : w.names()) {
        const TensorInfo& t = *w.find(name);
        spec.n_params += t.numel();
        dtypes.insert(st_dtype_name(t.dtype));
    }
    spec.weight_dtype = dtypes.size() == 1 ? *dtypes.begin() : "mixed";
}

void resolve_lm_head(ModelSpec& spec, const Config& cfg, const WeightStore& w, bool tie_default,
                     const std::string& lm_head_name) {
    // MODELS.md §1.8: use lm_head.weight when present and not tied; a tie flag (or a missing
    // lm_head) means the embedding matrix is the output projection.
    const bool tied = cfg.get_bool("tie_word_embeddings", tie_default);
    if (!tied && w.find(lm_head_name) != nullptr) {
        spec.lm_head = lm_head_name;
        spec.tied_embeddings = false;
        expect_shape(w, lm_head_name, {spec.vocab_size, spec.d_model},
                     "vocab_size x hidden_size of the embedding");
    } else {
        spec.lm_head = spec.embedding;
        spec.tied_embeddings = true;
    }
}

}  // namespace statescope::adapters
