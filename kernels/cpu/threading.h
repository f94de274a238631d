// How the CPU kernels split work between OpenMP threads.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace statescope::kernels::cpu {

// This thread's share [*begin, *end) of n items inside an `omp parallel` region: contiguous (each
// thread streams one region of memory), a whole multiple of `align` items except the last share.
inline void thread_share(std::int64_t n, std::int64_t align, std::int64_t* begin,
                         std::int64_t* end) {
    const int nth = omp_get_num_threads();
    const int tid = omp_get_thread_num();
    std::int64_t per = (n + nth - 1) / nth;
    per = (per + align - 1) / align * align;
    *begin = std::min(n, per * tid);
    *end = std::min(n, *begin + per);
}

}  // namespace statescope::kernels::cpu
