// The op set every layer of the engine is written in (docs/DESIGN.md §3).
//
// Conventions for every op:
// - Activations and recurrent state are fp32. Weights keep their checkpoint dtype (F32/BF16/F16)
// and are
//   widened inside the op; small per-channel vectors (norm weights, A, D, biases) are fp32.
// - Per-token data is row-major [T, width]; an op that reads a slice of a wider row takes the
// distance
//   between rows (`*_stride`, in elements), so the runtime can split in_proj outputs without
//   copies.
// - Pointers are in the backend's memory (host for CPU, device for CUDA) and come from
// alloc()/weight
//   upload; ops never allocate on the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/dtype.h"
#include "kernels/sampling.h"

namespace statescope::kernels {

// A weight matrix [rows, cols], row-major, as linear layers store it ([out, in], y = x W^T).
struct Weight {
    const void* data = nullptr;
    DType dtype = DType::F32;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
};

// A recorded sequence of ops (a CUDA graph), replayed by the backend that made it.
class Recording {
  public:
    virtual ~Recording() = default;
};
// The nonlinearity of an MLP (MODELS.md: SwiGLU, erf-GELU GLU, Nemotron-H's squared ReLU).
//   Silu: v / (1 + exp(-v))   Gelu: 0.5 v (1 + erf(v / sqrt(2)))   Relu2: max(v, 0)^2
enum class Activation { Silu, Gelu, Relu2 };

// How a mixture-of-experts router turns E logits into k (expert, weight) pairs.
// - SoftmaxTopK (Jamba): p = softmax(logits); pick the k largest p; weights = those p, not
//   renormalised.
// - TopKSoftmax (Granite 4.0-H): pick the k largest logits; weights = softmax over those k.
// - Sigmoid (Nemotron-H, DeepSeek-V3): s = sigmoid(logits); choose by s + correction_bias,
//   restricted to the topk_group best of n_group groups (a group scores the sum of its two best
//   s + bias); weights = s of the chosen, without the bias.
enum class RouterScoring { SoftmaxTopK, TopKSoftmax, Sigmoid };

// The expert FFNs of a mixture-of-experts layer as moe_experts() reads them: n_experts networks of
// one shape and dtype, no biases. gate, up and down are arrays in backend memory of n_experts
// pointers each (built once at load), expert e's matrix at [e]: gate_e, up_e [d_ff, d_model] and
// down_e [d_model, d_ff], row-major. gate is null for an ungated FFN (act(up x)).
struct ExpertFfns {
    const void* const* gate = nullptr;
    const void* const* up = nullptr;
    const void* const* down = nullptr;
    DType dtype = DType::F32;
    std::int64_t n_experts = 0, d_model = 0, d_ff = 0;
    Activation act = Activation::Silu;
};

// Memory owned by a backend (host or device); freed when the last owner goes.
class Buffer {
  public:
    virtual ~Buffer() = default;
    virtual void* data() = 0;
    virtual std::size_t bytes() const = 0;
    float* f32() { return static_cast<float*>(data()); }
};

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // The device in words (GPU, driver, memory) for logs and benchmark records.
    virtual std::string device_info() const { return name(); }
    // Most backend memory held at once since creation (0 where not tracked: host memory).
    virtual std::size_t peak_bytes() const { return 0; }
    // Returns when every op issued so far has finished (device backends run ops asynchronously;
    // copy_to_host waits by itself).
    virtual void synchronize() {}

    // Recording (CUDA graphs of the decode step): the ops issued between record_begin() and
    // record_end() are recorded instead of run, with their pointers and sizes fixed; replay() runs
    // them again, the embedding reading `ids` (host, the same count as when recorded) and
    // step_scalars() reading `scalars` (host, n_scalars of them, the same count as when recorded;
    // none when the step had none). No alloc(), copy_to_host() or synchronize() may happen while
    // recording. Backends without it return false from can_record().
    virtual bool can_record() const { return false; }
    virtual void record_begin() {}
    // Ends the recording; null when it failed (the ops were then not run either).
    virtual std::unique_ptr<Recording> record_end() { return nullptr; }
    virtual void replay(const Recording& r, const std::int32_t* ids, std::int64_t T,
                        const std::int64_t* scalars, std::int64_t n_scalars) {}

    // ---- The recordable decode step of hybrid models: values read from backend memory ----
    // A recording fixes every argument, so what changes from one step to the next (each row's
    // position, which rows of the KV cache to write and attend over, which experts a token
    // routed to) must reach the ops through backend memory. These ops are the ones attention and
    // MoE layers need for that; each is exactly its host-argument op above, with that argument
    // read from backend memory when the op runs.

    // Writes host[0..n) (n <= kMaxStepScalars) into a block of backend memory, in order with the
    // ops around it, and returns that block (valid until the next call). While recording, the
    // write is recorded too and replay() refreshes it from its `scalars`.
    static constexpr std::int64_t kMaxStepScalars = 64;
    virtual const std::int64_t* step_scalars(const std::int64_t* host, std::int64_t n) = 0;

    // Counts the times the backend moved one of its own scratch buffers (ids staging, split-K
    // partials, ...), which recorded ops point into: a recording made at another count may point
    // at freed memory and must be made again. 0 where nothing is recorded.
    virtual std::uint64_t scratch_generation() const { return 0; }

    // rope() at pos0 = *pos0 (pos0: one int64 in backend memory).
    virtual void rope_at(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                         std::int64_t head_dim, std::int64_t rotary_dim, const std::int64_t* pos0,
                         const float* inv_freq) = 0;

    // dst[(*pos0 + t) * dst_stride + i] = src[t * src_stride + i] for t < T, i < width
    // (appending k and v to a KV cache at the step's position; pos0: backend memory).
    virtual void write_rows_at(const float* src, std::int64_t src_stride, std::int64_t T,
                               std::int64_t width, float* dst, std::int64_t dst_stride,
                               const std::int64_t* pos0) = 0;

    // attention() at pos0 = *pos0 (backend memory). max_keys bounds pos0 + T (the KV cache's
    // capacity): a device backend sizes its launch by it, not knowing pos0 on the host, so one
    // recording serves every position up to it.
    virtual void attention_at(const float* q, std::int64_t q_stride, const float* k, const float* v,
                              std::int64_t kv_stride, std::int64_t T, const std::int64_t* pos0,
                              std::int64_t max_keys, std::int64_t n_heads, std::int64_t n_kv_heads,
                              std::int64_t head_dim, float scale, std::int64_t window, float* out,
                              std::int64_t out_stride) = 0;

    // The routed experts of a mixture-of-experts layer for a few rows (the decode step), the
    // experts read from backend memory (moe_route's output, never copied to the host):
    //   e = experts[t, j] ; h[t, j, :] = act(gate_e x[t]) * up_e x[t]   (act(up_e x[t]) ungated)
    //   out[t, :] = (accumulate ? out[t, :] : 0) + sum_{j < k} weights[t, j] * down_e h[t, j]
    //   (the k terms added in j order)
    // x: [T, d_model] (row stride x_stride); experts (int32), weights: [T, k] backend memory;
    // hidden: [T * k, d_ff] scratch; out: [T, d_model] contiguous. An expert index outside
    // [0, n_experts) contributes nothing.
    virtual void moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                             const std::int32_t* experts, const float* weights,
                             const ExpertFfns& ffn, float* hidden, bool accumulate, float* out) = 0;
    // ---- end of the recordable-step ops ----

    // Whether the attention / MLP / MoE ops (scale, add_scaled, glu, rope, attention, moe_route)
    // are implemented (both backends of this tree have them). A backend without them throws from
    // each; Model::load asks first, so a hybrid or Transformer checkpoint is refused at load with
    // the reason, not mid-forward.
    virtual bool has_hybrid_ops() const { return true; }

    // Memory. alloc() returns zeroed memory; copy_* move bytes between host and backend memory.
    virtual std::unique_ptr<Buffer> alloc(std::size_t bytes) = 0;
    virtual void copy_to_host(const void* src, void* host_dst, std::size_t bytes) = 0;
    virtual void copy_from_host(const void* host_src, void* dst, std::size_t bytes) = 0;
    virtual void copy(const void* src, void* dst, std::size_t bytes) = 0;
    // Makes a host weight usable by this backend. The CPU backend returns the same view (the file's
    // mmap stays the storage); a device backend uploads and keeps the copy alive in `keep`.
    virtual Weight upload(const Weight& host, std::unique_ptr<Buffer>* keep) = 0;

    // out[t, :] = float(table[ids[t], :])                        table: [V, D]; out: [T, D]
    // ids is HOST memory (token ids come from the tokenizer or the sampler); a device backend
    // stages them itself. Every id is in [0, V): the runtime checks before calling.
    virtual void embedding(const Weight& table, const std::int32_t* ids, std::int64_t T,
                           float* out) = 0;

    // y[t, o] = sum_i x[t, i] * W[o, i] + bias[o]
    // x: [T, W.cols] (row stride x_stride); y: [T, W.rows] (row stride y_stride); y must not
    // overlap x.
    // bias may be null.
    virtual void matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                        const float* bias, float* y, std::int64_t y_stride) = 0;

    // y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * weight     x, y: [T, D] with row strides
    // weight may be null (weightless norm, falcon_mamba's dt/B/C norms). y may alias x.
    virtual void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
                         const float* weight, float eps, float* y, std::int64_t y_stride) = 0;

    // y[i] += x[i] for i < n                                         (residual add)
    virtual void add(float* y, const float* x, std::int64_t n) = 0;

    // The residual add of one block fused with the next block's pre-norm:
    //   h[t, :] += s * x[t, :] ;  y[t, :] = rmsnorm(h[t, :]) * weight     h, x, y: [T, D]
    //   contiguous
    // The same floats as add (s == 1) or add_scaled followed by rmsnorm, which is what this default
    // does; a device backend does both in one pass over h (one launch instead of two per block).
    virtual void add_rmsnorm(float* h, const float* x, float s, std::int64_t T, std::int64_t D,
                             const float* weight, float eps, float* y) {
        if (s == 1.0f)
            add(h, x, T * D);
        else
            add_scaled(h, x, s, T * D);
        rmsnorm(h, D, T, D, weight, eps, y, D);
    }

    // Causal depthwise conv1d over time, continuing from conv_state, then SiLU if `silu`:
    //   window_t = [conv_state (K-1 oldest first) ; x[0..T)] ; y[t, c] = act(bias[c] + sum_k w[c,
    //   k] * window[t + k, c])
    // x: [T, C] (row stride x_stride); w: [C, K] fp32; bias: [C] or null; y: [T, C] contiguous.
    // conv_state: [K-1, C], the last K-1 pre-conv inputs, oldest first; updated to the newest K-1.
    virtual void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T,
                               std::int64_t C, std::int64_t K, const float* w, const float* bias,
                               bool silu, float* conv_state, float* y) = 0;

    // delta[t, c] = clamp(softplus(dt[t, c] + bias[c]), lo, hi)   dt: [T, C] (row stride dt_stride)
    // softplus(v) = log1p(exp(v)), = v for v > 20 (torch's threshold). bias may be null. delta: [T,
    // C].
    virtual void softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
                          const float* bias, float lo, float hi, float* delta) = 0;

    // Mamba-1's dt_proj and its softplus as one op:
    //   delta[t, o] = clamp(softplus(sum_i x[t, i] W[o, i] + bias[o]), lo, hi)
    // x: [T, W.cols] (row stride x_stride); delta: [T, W.rows] contiguous. The same floats as
    // matmul (no bias) then softplus (with the bias), which is what this default does; a device
    // backend applies the softplus as the matmul writes each output (one launch instead of two).
    virtual void matmul_softplus(const float* x, std::int64_t x_stride, std::int64_t T,
                                 const Weight& W, const float* bias, float lo, float hi,
                                 float* delta) {
        matmul(x, x_stride, T, W, nullptr, delta, W.rows);
        softplus(delta, W.rows, T, W.rows, bias, lo, hi, delta);
    }

    // ---- The fused one-token steps (decode of one sequence, T = 1). Each computes exactly the
    // unfused ops its default runs (the CPU backend keeps the defaults, so its floats do not
    // change); a device backend fuses them into one launch each. ----

    // in_proj of one token with the causal conv step (+ SiLU) of the slice of its outputs the conv
    // reads (Mamba-1: x = xz[:I]; Mamba-2: xBC), window = [conv_state ; y[conv_off + c]]:
    //   y[o] = sum_i x[i] W[o, i] + bias[o]                                  y: [W.rows], raw
    //   conv_y[c] = act(conv_bias[c] + sum_{k < K-1} conv_w[c, k] conv_state[k, c]
    //                                 + conv_w[c, K-1] y[conv_off + c])     c < C
    //   conv_state[:, c] <- [conv_state[1:, c] ; y[conv_off + c]]
    // x: [W.cols]; bias: [W.rows] or null; conv_w: [C, K]; conv_bias: [C] or null;
    // conv_state: [K-1, C]; conv_y: [C]; conv_off + C <= W.rows.
    virtual void matmul_conv1d_step(const float* x, const Weight& W, const float* bias, float* y,
                                    std::int64_t conv_off, std::int64_t C, std::int64_t K,
                                    const float* conv_w, const float* conv_bias, bool silu,
                                    float* conv_state, float* conv_y) {
        matmul(x, W.cols, 1, W, bias, y, W.rows);
        causal_conv1d(y + conv_off, W.rows, 1, C, K, conv_w, conv_bias, silu, conv_state, conv_y);
    }

    // Mamba-1's dt_proj, softplus and selective-scan step for one token, I = W.rows channels:
    //   delta[i] = clamp(softplus(sum_r dt[r] W[i, r] + dt_bias[i]), lo, hi)    (matmul_softplus)
    //   S[i, n] = exp(delta[i] A[i, n]) S[i, n] + delta[i] B[n] x[i]           (selective_scan)
    //   y[i] = (sum_n S[i, n] C[n] + D[i] x[i]) * silu(z[i])                   (no gate: z null)
    // dt: [W.cols]; x, z, D, delta, y: [I]; A, state: [I, N]; B, C: [N]. delta is written too
    // (the observers' "ssm.delta").
    virtual void matmul_softplus_scan_step(const float* dt, const Weight& W, const float* dt_bias,
                                           float lo, float hi, const float* x, const float* A,
                                           const float* B, const float* C, const float* D,
                                           const float* z, std::int64_t N, float* state,
                                           float* delta, float* y) {
        matmul_softplus(dt, W.cols, 1, W, dt_bias, lo, hi, delta);
        selective_scan(x, delta, A, B, C, N, D, z, W.rows, 1, W.rows, N, state, y);
    }

    // The Mamba-2 decode step of one token with its time step (the op pair the mixer runs at T =
    // 1, one launch on a device):
    //   delta[h] = clamp(softplus(dt[h] + dt_bias[h]), lo, hi)                   (softplus)
    //   then ssd_scan at T = 1 with that delta
    // dt: [H] (a slice of in_proj's row); dt_bias: [H] or null; delta: [H] written too (the
    // observers' "ssm.delta"); the rest as ssd_scan.
    virtual void softplus_ssd_step(const float* dt, const float* dt_bias, float lo, float hi,
                                   const float* x, std::int64_t x_stride, const float* A,
                                   const float* B, const float* C, std::int64_t bc_stride,
                                   const float* D, std::int64_t H, std::int64_t P, std::int64_t G,
                                   std::int64_t N, float* state, float* delta, float* y) {
        softplus(dt, H, 1, H, dt_bias, lo, hi, delta);
        ssd_scan(x, x_stride, delta, A, B, C, bc_stride, D, 1, H, P, G, N, state, y);
    }

    // Mamba-1 selective scan, one channel i of I, state n of N (S = state[i, n]):
    //   S = exp(delta[t,i] * A[i,n]) * S + delta[t,i] * B[t,n] * x[t,i]
    //   y[t,i] = (sum_n S * C[t,n] + D[i] * x[t,i]) * silu(z[t,i])          (no gate when z is
    //   null)
    // x, delta: [T, I] contiguous; B, C: [T, N] with row stride bc_stride; z: [T, I] row stride
    // z_stride; A: [I, N] (already -exp(A_log)); D: [I]; state: [I, N] fp32, updated; y: [T, I].
    virtual void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                                const float* C, std::int64_t bc_stride, const float* D,
                                const float* z, std::int64_t z_stride, std::int64_t T,
                                std::int64_t I, std::int64_t N, float* state, float* y) = 0;

    // Mamba-2 SSD recurrence for H heads of head_dim P, G groups of d_state N (head h uses group
    // g = h / (H / G); H is a multiple of G):
    //   S[h,p,n] = exp(delta[t,h] * A[h]) * S[h,p,n] + delta[t,h] * x[t,h,p] * B[t,g,n]
    //   y[t,h,p] = sum_n S[h,p,n] * C[t,g,n] + D[h] * x[t,h,p]
    // x: [T, H*P] (row stride x_stride); delta: [T, H]; B, C: [T, G*N] (row stride bc_stride);
    // A, D: [H]; state: [H, P, N] fp32, updated; y: [T, H*P] contiguous.
    virtual void ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                          const float* B, const float* C, std::int64_t bc_stride, const float* D,
                          std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G,
                          std::int64_t N, float* state, float* y) = 0;

    // The batched decode step (Model::forward_batch): the three recurrent ops above at T = 1 for
    // `rows` sequences at once, row r continuing its own state. `conv_states` / `states` are HOST
    // arrays of `rows` backend pointers, row r's state buffer each (a device backend stages them
    // itself, as embedding stages ids); every other pointer is backend memory as above. Each is
    // exactly its single-row op on row r:
    //   causal_conv1d_rows:  causal_conv1d(x + r*x_stride, x_stride, T = 1, C, K, w, bias, silu,
    //                                      conv_states[r], y + r*C)
    //     x: [rows, C] (row stride x_stride); y: [rows, C]; conv_states[r]: [K-1, C]
    //   selective_scan_rows: selective_scan(x + r*I, delta + r*I, A, B + r*bc_stride,
    //                                       C + r*bc_stride, bc_stride, D, z + r*z_stride,
    //                                       z_stride, T = 1, I, N, states[r], y + r*I)
    //     x, delta, y: [rows, I]; B, C: [rows, N] (row stride bc_stride); z: [rows, I] (row
    //     stride z_stride) or null; states[r]: [I, N]
    //   ssd_scan_rows:       ssd_scan(x + r*x_stride, x_stride, delta + r*H, A, B + r*bc_stride,
    //                                 C + r*bc_stride, bc_stride, D, T = 1, H, P, G, N, states[r],
    //                                 y + r*H*P)
    //     x: [rows, H*P] (row stride x_stride); delta: [rows, H]; B, C: [rows, G*N] (row stride
    //     bc_stride); y: [rows, H*P]; states[r]: [H, P, N]
    virtual void causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows,
                                    std::int64_t C, std::int64_t K, const float* w,
                                    const float* bias, bool silu, float* const* conv_states,
                                    float* y) = 0;
    virtual void selective_scan_rows(const float* x, const float* delta, const float* A,
                                     const float* B, const float* C, std::int64_t bc_stride,
                                     const float* D, const float* z, std::int64_t z_stride,
                                     std::int64_t rows, std::int64_t I, std::int64_t N,
                                     float* const* states, float* y) = 0;
    virtual void ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta,
                               const float* A, const float* B, const float* C,
                               std::int64_t bc_stride, const float* D, std::int64_t rows,
                               std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
                               float* const* states, float* y) = 0;

    // Gated RMSNorm of the Mamba-2 family over groups of `group_size` channels (group_size = I for
    // the full-width variant):
    //   norm_before_gate = false: h = y * silu(z); out = h * rsqrt(mean_group(h^2) + eps) * weight
    //   norm_before_gate = true:  out = y * rsqrt(mean_group(y^2) + eps) * weight * silu(z)
    // y: [T, I] contiguous; z: [T, I] (row stride z_stride); weight: [I] or null; out: [T, I], may
    // alias y.
    virtual void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride,
                               std::int64_t T, std::int64_t I, std::int64_t group_size,
                               const float* weight, float eps, bool norm_before_gate,
                               float* out) = 0;

    // x[t, i] *= s for i < n                 x: [T, n] (row stride x_stride)
    virtual void scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n,
                       float s) = 0;

    // y[i] += s * x[i] for i < n              (weighted residual / expert sum)
    virtual void add_scaled(float* y, const float* x, float s, std::int64_t n) = 0;

    // out[t, i] = act(gate[t, i]) * up[t, i]  (or act(gate[t, i]) when up is null)
    // gate: [T, F] (row stride gate_stride); up: [T, F] (row stride up_stride); out: [T, F]
    // contiguous, may alias gate or up when that input is contiguous (element by element).
    virtual void glu(const float* gate, std::int64_t gate_stride, const float* up,
                     std::int64_t up_stride, std::int64_t T, std::int64_t F, Activation act,
                     float* out) = 0;

    // Rotary position embedding, NeoX "rotate_half" style, in place on the first rotary_dim dims of
    // each head (the rest pass through); d = rotary_dim, j < d/2, position p = pos0 + t:
    //   angle = float(p) * inv_freq[j]   (fp32 product, as transformers)
    //   x'[j]       = x[j] cos(angle) - x[j + d/2] sin(angle)
    //   x'[j + d/2] = x[j + d/2] cos(angle) + x[j] sin(angle)
    // x: [T, n_heads * head_dim] (row stride x_stride); inv_freq: [rotary_dim / 2].
    virtual void rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                      std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0,
                      const float* inv_freq) = 0;

    // Causal attention of T queries at positions pos0 .. pos0+T-1 over the cached keys/values of
    // positions 0 .. pos0+T-1; query head h reads kv head h / (n_heads / n_kv_heads) (GQA):
    //   s[j] = scale * sum_d q[t, h, d] * k[j, g, d]   for j <= pos0 + t, and, when window > 0,
    //          pos0 + t - j < window (sliding-window attention)
    //   out[t, h, :] = sum_j softmax(s)[j] * v[j, g, :]
    // q: [T, n_heads * head_dim] (row stride q_stride); k, v: [pos0 + T, n_kv_heads * head_dim]
    // (row stride kv_stride); out: [T, n_heads * head_dim] (row stride out_stride).
    virtual void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
                           std::int64_t kv_stride, std::int64_t T, std::int64_t pos0,
                           std::int64_t n_heads, std::int64_t n_kv_heads, std::int64_t head_dim,
                           float scale, std::int64_t window, float* out,
                           std::int64_t out_stride) = 0;

    // Mixture-of-experts routing of T tokens over E experts (RouterScoring states the selection):
    // logits: [T, E]; correction_bias: [E] (Sigmoid only, may be null); experts: [T, k] int32
    // indices in selection order; weights: [T, k]. After selection, when `normalize`: w /= (sum_k w
    // + 1e-20); then w *= route_scale. n_group / topk_group: Sigmoid group-limited selection (1 /
    // 1: none).
    virtual void moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
                           RouterScoring scoring, const float* correction_bias,
                           std::int64_t n_group, std::int64_t topk_group, bool normalize,
                           float route_scale, std::int32_t* experts, float* weights) = 0;

    // out[t] = argmax_v x[t, v], the first maximum on ties (torch.argmax, the greedy sampler)
    // x: [T, V] (row stride x_stride); out: [T] int32 in backend memory. Greedy decoding on a
    // device copies this one id per token instead of the [V] row.
    virtual void argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                        std::int32_t* out) = 0;

    // out[t] = the token kernels/sampling.h draws from row t at u[t] (penalties, temperature,
    // top-k, min-p, top-p, then an inverse-CDF draw in ranked order).   x: [T, V] (row stride
    // x_stride); out: [T] int32 in backend memory; `pen` and u ([T], each in [0, 1)) in HOST memory
    // (the caller's seeded generator draws u, so every backend picks the same token). Sampled
    // decoding on a device copies this one id per token instead of the [V] row.
    virtual void sample(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                        const SampleParams& p, const SamplePenalties& pen, const double* u,
                        std::int32_t* out) = 0;
};

// The CPU backend: the reference, always built.
std::unique_ptr<Backend> make_cpu_backend();

#ifdef STATESCOPE_HAVE_CUDA
// The CUDA backend on device `device`; throws std::runtime_error saying why when there is no usable
// device (none, driver too old, no kernel image for its architecture).
std::unique_ptr<Backend> make_cuda_backend(int device = 0);
#endif

}  // namespace statescope::kernels
