// One model's part of a comparison, as plain C++ (no Qt): load, generate from the prompt, measure
// the sequence's memory at several context lengths, score a text token by token, and take the decay
// profile of its Mamba layers. The compare worker calls it on its thread; tests call it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "app/studio/compare_types.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope {
class Model;
namespace kernels {
class Backend;
}
}  // namespace statescope

namespace statescope::studio {

// Called with the stage ("load", "generate", "memory", "loss", "decay") and its progress; return
// false to stop the run (the result then says cancelled).
using StageFn =
    std::function<bool(const std::string& stage, std::int64_t done, std::int64_t total)>;

// The model's tokenizer.json, or, for a model without one whose vocabulary covers the 256 byte
// values (the random-weight test models), UTF-8 bytes as token ids; name() says which.
class CompareTokenizer {
  public:
    // Error when the folder has no tokenizer.json and vocab_size < 256.
    CompareTokenizer(const std::string& model_dir, std::int64_t vocab_size);
    std::vector<std::int32_t> encode(const std::string& text) const;
    std::string decode(std::span<const std::int32_t> ids) const;
    // The text of each token, so that the pieces concatenate to decode(ids) where the tokenizer
    // allows it (a multi-byte character split over several tokens goes to the first of them).
    std::vector<std::string> pieces(std::span<const std::int32_t> ids) const;
    const std::string& name() const { return name_; }

  private:
    std::optional<Tokenizer> tokenizer_;
    std::string name_;
};

// -log softmax(logits[t])[ids[t + 1]] in nats, for t = 0 .. T-2, written to out[t + 1]; out[0] is
// NaN (nothing predicts the first token). The text runs through a fresh sequence in chunks of
// `chunk` tokens (logits of every row of a chunk at once: chunk * vocab_size floats).
std::vector<double> token_nll(Model& model, std::span<const std::int32_t> ids,
                              std::int64_t chunk = 256, const StageFn& progress = {});

// Runs one model through the whole comparison on `backend`. Never throws: a failure is
// ModelResult::error.
ModelResult run_compare_model(const std::string& dir, const CompareRequest& request,
                              kernels::Backend& backend, const StageFn& progress);

}  // namespace statescope::studio
