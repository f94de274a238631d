// Sampling helpers behind the Backend interface: the argmax of each logits row.
#include "kernels/cpu/ops.h"

namespace statescope::kernels::cpu {

// out[t] = argmax_v x[t, v]; the first maximum on ties (a later equal value never replaces it), as
// torch.argmax and statescope::argmax.      x: [T, V] (row stride x_stride); out: [T]
void argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
            std::int32_t* out) {
    for (std::int64_t t = 0; t < T; ++t) {
        const float* row = x + t * x_stride;
        std::int64_t best = 0;
        for (std::int64_t i = 1; i < V; ++i)
            if (row[i] > row[best]) best = i;
        out[t] = static_cast<std::int32_t>(best);
    }
}

}  // namespace statescope::kernels::cpu
