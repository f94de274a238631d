// Scaling and the MLP nonlinearities: scale, add_scaled, glu. Memory-bound; no threads.
#include <cmath>

#include "kernels/cpu/ops.h"

namespace statescope::kernels::cpu {

// x[t, i] *= s for i < n                                         x: [T, n] (row stride x_stride)
void scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s) {
    for (std::int64_t t = 0; t < T; ++t) {
        float* row = x + t * x_stride;
        for (std::int64_t i = 0; i < n; ++i) row[i] *= s;
    }
}

// y[i] += s * x[i] for i < n
void add_scaled(float* y, const float* x, float s, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}

namespace {

// Silu: v / (1 + exp(-v)); Gelu: 0.5 v (1 + erf(v / sqrt(2))) (exact, torch's default); Relu2:
// max(v, 0)^2
inline float activate(float v, Activation act) {
    switch (act) {
        case Activation::Silu:
            return v / (1.0f + std::exp(-v));
        case Activation::Gelu:
            // 1 + erf(x) = erfc(-x), without 1 + erf's cancellation for large negative v
            return 0.5f * v * std::erfc(-v * 0.70710678118654752f);
        case Activation::Relu2: {
            const float r = v > 0.0f ? v : 0.0f;
            return r * r;
        }
    }
    return v;
}

}  // namespace

// out[t, i] = act(gate[t, i]) * up[t, i]  (act(gate[t, i]) when up is null)
// gate: [T, F] (row stride gate_stride); up: [T, F] (row stride up_stride); out: [T, F].
void glu(const float* gate, std::int64_t gate_stride, const float* up, std::int64_t up_stride,
         std::int64_t T, std::int64_t F, Activation act, float* out) {
    for (std::int64_t t = 0; t < T; ++t) {
        const float* g = gate + t * gate_stride;
        float* o = out + t * F;
        if (up != nullptr) {
            const float* u = up + t * up_stride;
            for (std::int64_t i = 0; i < F; ++i) o[i] = activate(g[i], act) * u[i];
        } else {
            for (std::int64_t i = 0; i < F; ++i) o[i] = activate(g[i], act);
        }
    }
}

}  // namespace statescope::kernels::cpu
