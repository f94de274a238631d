// A loaded model: its ModelSpec, its weights bound to one backend, and the forward pass over a
// Sequence.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/model/model_spec.h"
#include "core/model/safetensors.h"
#include "core/runtime/mixer.h"
#include "core/runtime/observer.h"
#include "core/runtime/workspace.h"
#include "kernels/backend.h"

namespace statescope {

class Sequence;

// Which rows of logits a forward call returns.
enum class LogitRows { None, Last, All };

// Called between prefill chunks with (tokens done, tokens total); return false to stop.
using ProgressFn = std::function<bool(std::int64_t done, std::int64_t total)>;

// How forward() runs the decode step (one token continuing a sequence, last row's logits, no
// observers). The three compute the same logits up to fp32 rounding; tests compare them.
enum class DecodePath {
    // Recorded once (a CUDA graph) and replayed while the sequence's state buffers, KV caches and
    // the workspace stay where they are; where the backend cannot record, as OpByOp. The default,
    // unless STATESCOPE_DECODE_GRAPH=0 is set when the model loads (then OpByOp).
    Recorded,
    // Op by op as any other forward(): positions and routing as host values.
    OpByOp,
    // The ops a recording holds (positions read from backend memory, MoE experts chosen on the
    // device), run op by op: on the CPU backend this is how tests reach those ops in a model.
    CaptureSafe,
};

struct LoadOptions {
    // Converts every weight matrix (embedding, projections, experts, lm_head) to this dtype at load
    // (round to nearest even, as torch's .to()); unset: the checkpoint's own dtype. Small vectors
    // (norms, A, D, biases, conv weights) stay fp32 as always.
    std::optional<kernels::DType> weight_dtype;
};

class Model {
  public:
    // Loads DIR (config.json + safetensors) onto `backend`, which must outlive the model.
    static std::unique_ptr<Model> load(const std::filesystem::path& dir, kernels::Backend& backend,
                                       const LoadOptions& options = {});
    ~Model();

    const ModelSpec& spec() const { return spec_; }
    kernels::Backend& backend() const { return backend_; }
    const WeightStore& weights() const { return weights_; }

    // Runs ids[0..T) through the model, continuing `seq` (its state and position advance by T).
    // logits (host) receives [rows, vocab_size] fp32 for the requested rows.
    void forward(Sequence& seq, std::span<const std::int32_t> ids, LogitRows rows,
                 std::vector<float>* logits);

    // forward() of `ids` that returns the argmax of the last row's logits (the first maximum on
    // ties), computed by the backend: a device backend copies one id to the host, not [V] floats.
    std::int32_t forward_argmax(Sequence& seq, std::span<const std::int32_t> ids);
    // forward() of `ids` that returns the token the backend draws from the last row's logits
    // (kernels/sampling.h with `pen` and u, as Sampler::next gives them): a device backend copies
    // one id to the host, not [V] floats; the CPU picks what Sampler::sample would.
    std::int32_t forward_sample(Sequence& seq, std::span<const std::int32_t> ids,
                                const kernels::SampleParams& params,
                                const kernels::SamplePenalties& pen, double u);

    // The batched decode step: row r of `ids` is the next token of seqs[r]; every sequence
    // advances by one. Rows share each weight read (the matmuls take all B rows at once); the
    // recurrent steps and attention run per row on that row's own state. logits (host), when not
    // null, receives [B, vocab_size] fp32, row r for seqs[r]. Every sequence must belong to this
    // model, appear once, and have been prefilled (position > 0) with forward(); B = 1 computes
    // what forward() of that one token does. Not offered while observers are registered (captures
    // and interventions are per sequence). Throws Error naming the problem otherwise.
    void forward_batch(std::span<Sequence* const> seqs, std::span<const std::int32_t> ids,
                       std::vector<float>* logits);
    // forward_batch() that returns each row's argmax (the first maximum on ties) in out[0..B),
    // computed by the backend: a device backend copies B ids to the host, not [B, V] floats.
    void forward_batch_argmax(std::span<Sequence* const> seqs, std::span<const std::int32_t> ids,
                              std::span<std::int32_t> out);

    // forward() over `ids` in chunks of `chunk` tokens, reporting progress between chunks. Returns
    // false when progress asked to stop (the sequence then holds the tokens done so far). Logits of
    // the last token go to `last_logits` when it is not null.
    bool prefill(Sequence& seq, std::span<const std::int32_t> ids, std::int64_t chunk,
                 const ProgressFn& progress, std::vector<float>* last_logits);

    void set_decode_path(DecodePath p) { decode_path_ = p; }
    DecodePath decode_path() const { return decode_path_; }
    // Whether every mixer of this model can be recorded (Mixer::capture_safe).
    bool decode_recordable() const { return recordable_; }
    // Decode steps served by replaying a recording, since load.
    std::int64_t decode_replays() const { return decode_replays_; }

    void add_observer(Observer* o) { observers_.push_back(o); }
    void remove_observer(Observer* o);

    // State buffer sizes (floats) per mixer (every part of every layer, in order), for Sequence.
    std::vector<std::vector<std::size_t>> state_layout() const;
    // KV-cache floats per token per mixer (0 for mixers without one), in the same order.
    std::vector<std::int64_t> kv_layout() const;
    // Memory accounting: recurrent (fixed) state bytes per sequence and KV-cache bytes per token.
    std::size_t recurrent_state_bytes() const;
    std::size_t kv_bytes_per_token() const;

  private:
    Model(ModelSpec spec, WeightStore weights, kernels::Backend& backend);
    // forward() up to the logits, left in backend memory ([n, V], null for LogitRows::None).
    const float* forward_rows(Sequence& seq, std::span<const std::int32_t> ids, LogitRows rows,
                              std::int64_t* n);
    // forward_batch() up to the logits, left in backend memory ([B, V]), after checking its
    // arguments.
    const float* forward_batch_rows(std::span<Sequence* const> seqs,
                                    std::span<const std::int32_t> ids);
    // Issues the ops of one call (embedding .. logits rows) on the backend; returns the logits in
    // backend memory ([n, V], null when rows is None) and sets *n. `seqs` holds one sequence (the
    // T ids continue it) or T (the batched step: id r is the next token of seqs[r]).
    // `capture_safe`: the step is the one-sequence decode step in its recordable form (positions
    // through Backend::step_scalars, MixerCall::step_positions set).
    const float* run_layers(std::span<Sequence* const> seqs, std::span<const std::int32_t> ids,
                            LogitRows rows, std::int64_t* n, bool capture_safe = false);
    // The argmax of each of `rows` logits rows (backend memory), computed by the backend and copied
    // to `host` ([rows] ids).
    void argmax_to_host(const float* logits, std::int64_t rows, std::int32_t* host);
    // What a recorded decode step depends on: the sequence's state buffers and KV caches (and
    // their capacity), the workspace and the backend's scratch buffers.
    std::vector<const void*> decode_key(Sequence& seq) const;

    struct Part {
        std::unique_ptr<kernels::Buffer> norm;  // null for a parallel part
        std::unique_ptr<Mixer> mixer;
        std::size_t state = 0;  // index of its LayerState in the Sequence
    };
    struct Block {
        std::vector<Part> parts;
    };
    ModelSpec spec_;
    WeightStore weights_;
    kernels::Backend& backend_;
    BoundWeight embedding_, lm_head_;
    std::unique_ptr<kernels::Buffer> final_norm_;
    std::vector<Block> blocks_;
    bool needs_embeddings_ = false;
    bool recordable_ = true;        // every mixer capture-safe: the decode step may be recorded
    bool needs_positions_ = false;  // some mixer keeps a KV cache (attention)
    DecodePath decode_path_ = DecodePath::Recorded;
    std::int64_t decode_replays_ = 0;
    Workspace ws_;
    // run_layers' per-call lists (kept to reuse their storage): each row's position, and each
    // row's LayerState of the part being run.
    std::vector<std::int64_t> row_positions_;
    std::vector<LayerState*> row_states_;
    std::vector<Observer*> observers_;
    // The decode step as a backend recording (CUDA graph): recorded on the second consecutive
    // decode step with the same key (the first one may still grow the workspace), replayed while
    // the key holds; never while observers are registered (they read and may change the stream).
    std::unique_ptr<kernels::Recording> decode_rec_;
    std::vector<const void*> decode_rec_key_, last_decode_key_;
    const float* decode_rec_out_ = nullptr;
    bool recording_failed_ = false;
};

}  // namespace statescope
