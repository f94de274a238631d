#include "core/runtime/model.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

std::unique_ptr<Model> Model::load(const std::filesystem::path& dir, kernels::Backend& backend,
                                   const LoadOptions& options) {
    if (!std::filesystem::is_directory(dir))
        throw Error("cannot load model: " + dir.string() + " is not a folder");
    WeightStore weights = WeightStore::open_dir(dir);
    weights.set_matrix_dtype(options.weight_dtype);
    ModelSpec spec = load_model_spec(dir, weights);
    if (!backend.has_hybrid_ops()) {
        for (const BlockSpec& b : spec.blocks)
            for (const PartSpec& ps : b.parts)
                if (ps.kind != MixerKind::Mamba1 && ps.kind != MixerKind::Mamba2)
                    throw Error("cannot load " + dir.string() + " on the " + backend.name() +
                                " backend: it has " + ps.kind_name() + " layers (model_type " +
                                spec.model_type +
                                "), which this backend does not run yet; use "
                                "--backend cpu");
    }
    return std::unique_ptr<Model>(new Model(std::move(spec), std::move(weights), backend));
}

Model::Model(ModelSpec spec, WeightStore weights, kernels::Backend& backend)
    : spec_(std::move(spec)), weights_(std::move(weights)), backend_(backend), ws_(backend) {
    embedding_ = bind_matrix(weights_, spec_.embedding, backend_);
    if (spec_.lm_head == spec_.embedding) {
        lm_head_.w = embedding_.w;  // tied: the same view (and the same device copy)
    } else {
        lm_head_ = bind_matrix(weights_, spec_.lm_head, backend_);
    }
    final_norm_ = bind_f32(weights_, spec_.final_norm, backend_);
    std::size_t n_states = 0;
    for (const BlockSpec& b : spec_.blocks) {
        Block block;
        for (const PartSpec& ps : b.parts) {
            Part part;
            if (!ps.parallel && !ps.norm_weight.empty())
                part.norm = bind_f32(weights_, ps.norm_weight, backend_);
            const std::int64_t D = spec_.d_model;
            switch (ps.kind) {
                case MixerKind::Mamba1:
                    part.mixer =
                        make_mamba1_mixer(std::get<Mamba1Spec>(ps.mixer), D, weights_, backend_);
                    break;
                case MixerKind::Mamba2:
                    part.mixer =
                        make_mamba2_mixer(std::get<Mamba2Spec>(ps.mixer), D, weights_, backend_);
                    break;
                case MixerKind::Attention:
                    part.mixer = make_attention_mixer(std::get<AttentionSpec>(ps.mixer), D,
                                                      weights_, backend_);
                    break;
                case MixerKind::Mlp:
                    part.mixer = make_mlp_mixer(std::get<MlpSpec>(ps.mixer), D, weights_, backend_);
                    break;
                case MixerKind::Moe:
                    part.mixer = make_moe_mixer(std::get<MoeSpec>(ps.mixer), D, weights_, backend_);
                    break;
                case MixerKind::Zamba2Hybrid:
                    part.mixer = make_zamba2_hybrid_mixer(std::get<Zamba2HybridSpec>(ps.mixer), D,
                                                          weights_, backend_);
                    needs_embeddings_ = true;
                    break;
            }
            recordable_ = recordable_ && part.mixer->capture_safe();
            needs_positions_ = needs_positions_ || part.mixer->kv_width() > 0;
            part.state = n_states++;
            block.parts.push_back(std::move(part));
        }
        blocks_.push_back(std::move(block));
    }
    const char* env = std::getenv("STATESCOPE_DECODE_GRAPH");
    if (env != nullptr && std::string(env) == "0") decode_path_ = DecodePath::OpByOp;
}

Model::~Model() = default;

void Model::remove_observer(Observer* o) {
    observers_.erase(std::remove(observers_.begin(), observers_.end(), o), observers_.end());
}

std::vector<std::vector<std::size_t>> Model::state_layout() const {
    std::vector<std::vector<std::size_t>> out;
    for (const auto& b : blocks_)
        for (const auto& p : b.parts) out.push_back(p.mixer->state_sizes());
    return out;
}

std::vector<std::int64_t> Model::kv_layout() const {
    std::vector<std::int64_t> out;
    for (const auto& b : blocks_)
        for (const auto& p : b.parts) out.push_back(p.mixer->kv_width());
    return out;
}

std::size_t Model::recurrent_state_bytes() const {
    std::size_t n = 0;
    for (const auto& sizes : state_layout())
        for (std::size_t s : sizes) n += s * sizeof(float);
    return n;
}

std::size_t Model::kv_bytes_per_token() const {
    std::size_t n = 0;
    for (std::int64_t w : kv_layout()) n += 2 * std::size_t(w) * sizeof(float);  // keys + values
    return n;
}

void Model::forward(Sequence& seq, std::span<const std::int32_t> ids, LogitRows rows,
                    std::vector<float>* logits) {
    if (ids.empty()) {
        if (logits) logits->clear();
        return;
    }
    std::int64_t n = 0;
    const float* out = forward_rows(seq, ids, rows, &n);
    if (out != nullptr && logits) {
        logits->resize(std::size_t(n * spec_.vocab_size));
        backend_.copy_to_host(out, logits->data(), logits->size() * sizeof(float));
    }
}

std::int32_t Model::forward_argmax(Sequence& seq, std::span<const std::int32_t> ids) {
    if (ids.empty()) throw Error("forward_argmax: no token ids");
    std::int64_t n = 0;
    const float* out = forward_rows(seq, ids, LogitRows::Last, &n);
    std::int32_t host = 0;
    argmax_to_host(out, 1, &host);
    return host;
}

std::int32_t Model::forward_sample(Sequence& seq, std::span<const std::int32_t> ids,
                                   const kernels::SampleParams& params,
                                   const kernels::SamplePenalties& pen, double u) {
    if (ids.empty()) throw Error("forward_sample: no token ids");
    if (!(u >= 0.0 && u < 1.0)) throw Error("forward_sample: u must be in [0, 1)");
    const std::int64_t V = spec_.vocab_size;
    const std::int64_t n_pen = pen.offsets != nullptr ? pen.offsets[1] - pen.offsets[0] : 0;
    for (std::int64_t j = 0; j < n_pen; ++j)
        if (const std::int32_t id = pen.ids[pen.offsets[0] + j]; id < 0 || id >= V)
            throw Error("forward_sample: penalised token id " + std::to_string(id) +
                        " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");
    std::int64_t n = 0;
    const float* out = forward_rows(seq, ids, LogitRows::Last, &n);
    auto* id = reinterpret_cast<std::int32_t*>(ws_.get("sample", 1));
    backend_.sample(out, V, 1, V, params, pen, &u, id);
    std::int32_t host = 0;
    backend_.copy_to_host(id, &host, sizeof(host));
    return host;
}

void Model::argmax_to_host(const float* logits, std::int64_t rows, std::int32_t* host) {
    // int32 in float slots (both 4 bytes), as the MoE mixer's indices
    auto* id = reinterpret_cast<std::int32_t*>(ws_.get("argmax", std::size_t(rows)));
    backend_.argmax(logits, spec_.vocab_size, rows, spec_.vocab_size, id);
    backend_.copy_to_host(id, host, std::size_t(rows) * sizeof(std::int32_t));
}

void Model::forward_batch(std::span<Sequence* const> seqs, std::span<const std::int32_t> ids,
                          std::vector<float>* logits) {
    const float* out = forward_batch_rows(seqs, ids);
    if (logits) {
        logits->resize(seqs.size() * std::size_t(spec_.vocab_size));
        backend_.copy_to_host(out, logits->data(), logits->size() * sizeof(float));
    }
}

void Model::forward_batch_argmax(std::span<Sequence* const> seqs, std::span<const std::int32_t> ids,
                                 std::span<std::int32_t> out) {
    if (out.size() != seqs.size())
        throw Error("forward_batch_argmax: room for " + std::to_string(out.size()) + " ids, but " +
                    std::to_string(seqs.size()) + " sequences");
    argmax_to_host(forward_batch_rows(seqs, ids), static_cast<std::int64_t>(seqs.size()),
                   out.data());
}

// No CUDA graph for the batched step (unlike forward()'s decode step): B tokens per step amortise
// the launches, and the rows' state pointers and positions change with every batch.
const float* Model::forward_batch_rows(std::span<Sequence* const> seqs,
                                       std::span<const std::int32_t> ids) {
    const std::int64_t V = spec_.vocab_size;
    if (seqs.empty()) throw Error("forward_batch: no sequences (B = 0)");
    if (ids.size() != seqs.size())
        throw Error("forward_batch: " + std::to_string(ids.size()) + " token ids for " +
                    std::to_string(seqs.size()) + " sequences (one id per sequence)");
    if (!observers_.empty())
        throw Error(
            "forward_batch: observers are registered; captures are per sequence, so run "
            "forward() on each sequence instead");
    for (std::size_t r = 0; r < seqs.size(); ++r) {
        const Sequence* s = seqs[r];
        const std::string row = "forward_batch: sequence " + std::to_string(r);
        if (s == nullptr) throw Error(row + " is null");
        if (&s->model() != this) throw Error(row + " belongs to another model");
        for (std::size_t q = 0; q < r; ++q)
            if (seqs[q] == s)
                throw Error(row + " is the same sequence as sequence " + std::to_string(q) +
                            " (each sequence may advance once per step)");
        if (s->position() == 0)
            throw Error(row +
                        " is at position 0: prefill it with forward() first (the batched step "
                        "only continues sequences)");
        if (ids[r] < 0 || ids[r] >= V)
            throw Error(row + ": token id " + std::to_string(ids[r]) +
                        " is outside the model's vocabulary (0.." + std::to_string(V - 1) + ")");
    }
    std::int64_t n = 0;
    return run_layers(seqs, ids, LogitRows::All, &n);
}

const float* Model::forward_rows(Sequence& seq, std::span<const std::int32_t> ids, LogitRows rows,
                                 std::int64_t* n_out) {
    const auto T = static_cast<std::int64_t>(ids.size());
    *n_out = 0;
    if (T == 0) return nullptr;
    const std::int64_t V = spec_.vocab_size;
    for (std::int64_t t = 0; t < T; ++t) {
        if (ids[t] < 0 || ids[t] >= V)
            throw Error("token id " + std::to_string(ids[t]) + " at position " +
                        std::to_string(seq.position() + t) +
                        " is outside the model's vocabulary (0.." + std::to_string(V - 1) + ")");
    }
    auto& be = backend_;
    // The decode step may be recorded when every mixer is capture-safe: attention reads the
    // position from backend memory (step_scalars, refreshed by each replay), the KV caches are
    // reserved here, before the key is taken (they grow in large steps, so a new recording is
    // rare: a grown cache moves, changes the key and is recorded again), and MoE chooses its
    // experts on the device.
    const bool decode_step = T == 1 && seq.position() > 0 && rows == LogitRows::Last &&
                             observers_.empty() && recordable_;
    const bool graphable = decode_step && decode_path_ == DecodePath::Recorded && be.can_record();
    const bool capture_safe = graphable || (decode_step && decode_path_ == DecodePath::CaptureSafe);
    const float* out = nullptr;
    std::int64_t n = 0;
    Sequence* const one[] = {&seq};
    if (capture_safe) {
        const std::int64_t pos = seq.position();
        for (const auto& block : blocks_)
            for (const auto& part : block.parts) {
                LayerState& st = seq.layer(part.state);
                if (st.kv_width > 0) reserve_kv(st, pos + 1, pos, be);
            }
    }
    if (graphable) {
        std::vector<const void*> key = decode_key(seq);
        if (decode_rec_ == nullptr || key != decode_rec_key_) {
            decode_rec_.reset();
            if (key == last_decode_key_ && !recording_failed_) {
                const std::uint64_t generation = ws_.generation();
                const std::uint64_t scratch_generation = be.scratch_generation();
                const std::int64_t pos0 = seq.position();
                be.record_begin();
                try {
                    decode_rec_out_ = run_layers(one, ids, rows, &n, true);
                    decode_rec_ = be.record_end();
                } catch (const std::exception&) {
                    be.record_end();
                }
                // Recorded ops did not run: rewind the position they advanced. A recording that
                // failed, or that allocated (its pointers would not hold), is dropped for good and
                // the step runs op by op below.
                seq.rewind(seq.position() - pos0);
                if (decode_rec_ == nullptr || ws_.generation() != generation ||
                    be.scratch_generation() != scratch_generation) {
                    decode_rec_.reset();
                    recording_failed_ = true;
                } else {
                    decode_rec_key_ = key;
                }
            }
        }
        if (decode_rec_ != nullptr) {
            const std::int64_t pos = seq.position();
            be.replay(*decode_rec_, ids.data(), 1, &pos, needs_positions_ ? 1 : 0);
            seq.advance(1);
            ++decode_replays_;
            out = decode_rec_out_;
            n = 1;
        } else {
            out = run_layers(one, ids, rows, &n, true);
            last_decode_key_ = decode_key(seq);  // after the call: it may have grown the workspace
        }
    } else {
        out = run_layers(one, ids, rows, &n, capture_safe);
    }
    *n_out = out != nullptr ? n : 0;
    return out;
}

std::vector<const void*> Model::decode_key(Sequence& seq) const {
    std::vector<const void*> key;
    for (const auto& block : blocks_)
        for (const auto& part : block.parts) {
            const LayerState& st = seq.layer(part.state);
            for (const auto& b : st.buffers) key.push_back(b->data());
            // a KV cache moves when it grows
            if (st.keys) {
                key.push_back(st.keys->data());
                key.push_back(st.values->data());
                key.push_back(reinterpret_cast<const void*>(std::uintptr_t(st.kv_capacity)));
            }
        }
    key.push_back(reinterpret_cast<const void*>(std::uintptr_t(ws_.generation())));
    // the backend's own scratch (split-K partials, ids staging): another model or a prefill
    // chunk on the same backend may have moved it
    key.push_back(reinterpret_cast<const void*>(std::uintptr_t(backend_.scratch_generation())));
    key.push_back(&seq);
    return key;
}

const float* Model::run_layers(std::span<Sequence* const> seqs, std::span<const std::int32_t> ids,
                               LogitRows rows, std::int64_t* n_rows, bool capture_safe) {
    const auto T = static_cast<std::int64_t>(ids.size());
    const std::int64_t D = spec_.d_model, V = spec_.vocab_size;
    auto& be = backend_;
    const bool batched = seqs.size() > 1;  // else the T ids continue seqs[0]
    row_positions_.clear();
    for (Sequence* s : seqs) row_positions_.push_back(s->position());
    const std::int64_t pos = row_positions_[0];
    // The recordable step reads its position from backend memory (a replay refreshes it); pure
    // SSMs read none.
    const std::int64_t* step_positions =
        capture_safe && needs_positions_ ? be.step_scalars(row_positions_.data(), 1) : nullptr;
    // h: [T, D] residual stream (fp32 throughout: residual_in_fp32 is what fp32 compute does
    // anyway)
    float* h = ws_.get("h", std::size_t(T * D));
    float* u = ws_.get("u", std::size_t(T * D));
    float* mix = ws_.get("mix", std::size_t(T * D));
    be.embedding(embedding_.w, ids.data(), T, h);
    if (spec_.embedding_multiplier != 1.0)
        be.scale(h, D, T, D, static_cast<float>(spec_.embedding_multiplier));
    float* h0 = nullptr;  // the embeddings, kept for zamba2's hybrid layers
    if (needs_embeddings_) {
        h0 = ws_.get("h0", std::size_t(T * D));
        be.copy(h, h0, std::size_t(T * D) * sizeof(float));
    }
    // Every row a single token continuing its sequence (the batched step requires position > 0).
    const bool decode_step = (T == 1 && pos > 0) || batched;
    // Each part's residual add (h += out_multiplier * mix) waits until h is next read, so that it
    // and the next part's pre-norm run as one add_rmsnorm (one launch instead of two per part).
    float pending_scale = 0.0f;  // 0: no add pending
    auto flush_add = [&] {
        if (pending_scale == 1.0f)
            be.add(h, mix, T * D);
        else if (pending_scale != 0.0f)
            be.add_scaled(h, mix, pending_scale, T * D);
        pending_scale = 0.0f;
    };
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        CaptureSink sink(&observers_, &be, static_cast<std::int64_t>(i), pos);
        if (sink.active()) {
            flush_add();
            sink.capture("resid_pre", h, {T, D});
        }
        for (std::size_t j = 0; j < blocks_[i].parts.size(); ++j) {
            const PartSpec& ps = spec_.blocks[i].parts[j];
            Part& part = blocks_[i].parts[j];
            // u = RMSNorm(h) (a parallel part reuses the previous part's u, taken before its add)
            const bool raw = ps.norm_weight.empty() && !ps.parallel;  // the mixer normalizes itself
            const float eps = static_cast<float>(ps.norm_eps);
            if (!ps.parallel && !raw && pending_scale != 0.0f) {
                be.add_rmsnorm(h, mix, pending_scale, T, D, part.norm->f32(), eps, u);
                pending_scale = 0.0f;
            } else {
                flush_add();  // a parallel part writes mix; a raw one reads h
                if (!ps.parallel && !raw) be.rmsnorm(h, D, T, D, part.norm->f32(), eps, u, D);
            }
            if (!ps.parallel && !raw && sink.active() && j == 0)
                sink.capture("mixer_in", u, {T, D});
            const float* in = raw ? h : u;
            if (ps.in_multiplier != 1.0) {
                float* scaled = ws_.get("u_scaled", std::size_t(T * D));
                be.copy(in, scaled, std::size_t(T * D) * sizeof(float));
                be.scale(scaled, D, T, D, static_cast<float>(ps.in_multiplier));
                in = scaled;
            }
            // h = h + out_multiplier * mixer(in)
            row_states_.clear();
            for (Sequence* s : seqs) row_states_.push_back(&s->layer(part.state));
            MixerCall call;
            call.u = in;
            call.T = T;
            call.decode_step = decode_step;
            call.out = mix;
            call.embeddings = h0;
            call.states = row_states_;
            call.positions = row_positions_;
            call.capture_safe = capture_safe;
            call.step_positions = step_positions;
            part.mixer->forward(call, ws_, sink);
            pending_scale = static_cast<float>(ps.out_multiplier);
        }
        if (sink.active()) {
            flush_add();
            sink.capture("resid_post", h, {T, D});
        }
    }
    for (Sequence* s : seqs) s->advance(batched ? 1 : T);
    *n_rows = 0;
    if (rows == LogitRows::None) return nullptr;  // h is scratch: its last add is not needed
    const std::int64_t first = rows == LogitRows::Last ? T - 1 : 0;
    const std::int64_t n = T - first;
    const float final_eps = static_cast<float>(spec_.final_norm_eps);
    if (first == 0 && pending_scale != 0.0f) {
        be.add_rmsnorm(h, mix, pending_scale, T, D, final_norm_->f32(), final_eps, u);
        pending_scale = 0.0f;
    } else {
        flush_add();
        be.rmsnorm(h + first * D, D, n, D, final_norm_->f32(), final_eps, u, D);
    }
    CaptureSink(&observers_, &be, -1, pos + first).capture("final_norm", u, {n, D});
    float* out = ws_.get("logits", std::size_t(n * V));
    be.matmul(u, D, n, lm_head_.w, nullptr, out, V);
    if (spec_.logits_multiplier != 1.0)
        be.scale(out, V, n, V, static_cast<float>(spec_.logits_multiplier));
    *n_rows = n;
    return out;
}

bool Model::prefill(Sequence& seq, std::span<const std::int32_t> ids, std::int64_t chunk,
                    const ProgressFn& progress, std::vector<float>* last_logits) {
    const auto total = static_cast<std::int64_t>(ids.size());
    if (chunk <= 0) chunk = total;
    for (std::int64_t done = 0; done < total;) {
        const std::int64_t n = std::min(chunk, total - done);
        const bool last = done + n == total;
        forward(seq, ids.subspan(std::size_t(done), std::size_t(n)),
                last ? LogitRows::Last : LogitRows::None, last ? last_logits : nullptr);
        done += n;
        if (progress && !progress(done, total) && !last) return false;
    }
    return true;
}

}  // namespace statescope
