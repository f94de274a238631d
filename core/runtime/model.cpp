#include "core/runtime/model.h"

#include <algorithm>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

std::unique_ptr<Model> Model::load(const std::filesystem::path& dir, kernels::Backend& backend) {
    if (!std::filesystem::is_directory(dir))
        throw Error("cannot load model: " + dir.string() + " is not a folder");
    WeightStore weights = WeightStore::open_dir(dir);
    ModelSpec spec = load_model_spec(dir, weights);
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
    for (const BlockSpec& b : spec_.blocks) {
        Block block;
        block.norm = bind_f32(weights_, b.norm_weight, backend_);
        switch (b.kind) {
            case MixerKind::Mamba1:
                block.mixer = make_mamba1_mixer(std::get<Mamba1Spec>(b.mixer), spec_.d_model,
                                                weights_, backend_);
                break;
            case MixerKind::Mamba2:
                block.mixer = make_mamba2_mixer(std::get<Mamba2Spec>(b.mixer), spec_.d_model,
                                                weights_, backend_);
                break;
        }
        blocks_.push_back(std::move(block));
    }
}

Model::~Model() = default;

void Model::remove_observer(Observer* o) {
    observers_.erase(std::remove(observers_.begin(), observers_.end(), o), observers_.end());
}

std::vector<std::vector<std::size_t>> Model::state_layout() const {
    std::vector<std::vector<std::size_t>> out;
    for (const auto& b : blocks_) out.push_back(b.mixer->state_sizes());
    return out;
}

void Model::forward(Sequence& seq, std::span<const std::int32_t> ids, LogitRows rows,
                    std::vector<float>* logits) {
    const auto T = static_cast<std::int64_t>(ids.size());
    if (T == 0) {
        if (logits) logits->clear();
        return;
    }
    const std::int64_t V = spec_.vocab_size;
    for (std::int64_t t = 0; t < T; ++t) {
        if (ids[t] < 0 || ids[t] >= V)
            throw Error("token id " + std::to_string(ids[t]) + " at position " +
                        std::to_string(seq.position() + t) +
                        " is outside the model's vocabulary (0.." + std::to_string(V - 1) + ")");
    }
    auto& be = backend_;
    const bool graphable = T == 1 && seq.position() > 0 && rows == LogitRows::Last &&
                           observers_.empty() && be.can_record();
    const float* out = nullptr;
    std::int64_t n = 0;
    if (graphable) {
        std::vector<const void*> key = decode_key(seq);
        if (decode_rec_ == nullptr || key != decode_rec_key_) {
            decode_rec_.reset();
            if (key == last_decode_key_ && !recording_failed_) {
                const std::uint64_t generation = ws_.generation();
                const std::int64_t pos0 = seq.position();
                be.record_begin();
                try {
                    decode_rec_out_ = run_layers(seq, ids, rows, &n);
                    decode_rec_ = be.record_end();
                } catch (const std::exception&) {
                    be.record_end();
                }
                // Recorded ops did not run: rewind the position they advanced. A recording that
                // failed, or that allocated (its pointers would not hold), is dropped for good and
                // the step runs op by op below.
                seq.rewind(seq.position() - pos0);
                if (decode_rec_ == nullptr || ws_.generation() != generation) {
                    decode_rec_.reset();
                    recording_failed_ = true;
                } else {
                    decode_rec_key_ = key;
                }
            }
        }
        if (decode_rec_ != nullptr) {
            be.replay(*decode_rec_, ids.data(), 1);
            seq.advance(1);
            out = decode_rec_out_;
            n = 1;
        } else {
            out = run_layers(seq, ids, rows, &n);
            last_decode_key_ = decode_key(seq);  // after the call: it may have grown the workspace
        }
    } else {
        out = run_layers(seq, ids, rows, &n);
    }
    if (out != nullptr && logits) {
        logits->resize(std::size_t(n * V));
        be.copy_to_host(out, logits->data(), std::size_t(n * V) * sizeof(float));
    }
}

std::vector<const void*> Model::decode_key(Sequence& seq) const {
    std::vector<const void*> key;
    for (std::size_t i = 0; i < blocks_.size(); ++i)
        for (const auto& b : seq.layer(i).buffers) key.push_back(b->data());
    key.push_back(reinterpret_cast<const void*>(std::uintptr_t(ws_.generation())));
    key.push_back(&seq);
    return key;
}

const float* Model::run_layers(Sequence& seq, std::span<const std::int32_t> ids, LogitRows rows,
                               std::int64_t* n_rows) {
    const auto T = static_cast<std::int64_t>(ids.size());
    const std::int64_t D = spec_.d_model, V = spec_.vocab_size;
    auto& be = backend_;
    const std::int64_t pos = seq.position();
    // h: [T, D] residual stream (fp32 throughout: residual_in_fp32 is what fp32 compute does
    // anyway)
    float* h = ws_.get("h", std::size_t(T * D));
    float* u = ws_.get("u", std::size_t(T * D));
    float* mix = ws_.get("mix", std::size_t(T * D));
    be.embedding(embedding_.w, ids.data(), T, h);
    const bool decode_step = T == 1 && pos > 0;
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        CaptureSink sink(&observers_, &be, static_cast<std::int64_t>(i), pos);
        if (sink.active()) sink.capture("resid_pre", h, {T, D});
        // u = RMSNorm(h) ; h = h + mixer(u)
        be.rmsnorm(h, D, T, D, blocks_[i].norm->f32(), static_cast<float>(spec_.blocks[i].norm_eps),
                   u, D);
        if (sink.active()) sink.capture("mixer_in", u, {T, D});
        MixerCall call{u, T, decode_step, mix};
        blocks_[i].mixer->forward(call, seq.layer(i), ws_, sink);
        be.add(h, mix, T * D);
        if (sink.active()) sink.capture("resid_post", h, {T, D});
    }
    seq.advance(T);
    *n_rows = 0;
    if (rows == LogitRows::None) return nullptr;
    const std::int64_t first = rows == LogitRows::Last ? T - 1 : 0;
    const std::int64_t n = T - first;
    be.rmsnorm(h + first * D, D, n, D, final_norm_->f32(), static_cast<float>(spec_.final_norm_eps),
               u, D);
    CaptureSink(&observers_, &be, -1, pos + first).capture("final_norm", u, {n, D});
    float* out = ws_.get("logits", std::size_t(n * V));
    be.matmul(u, D, n, lm_head_.w, nullptr, out, V);
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
