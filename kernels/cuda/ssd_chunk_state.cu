// Chunked SSD, passes 2 and 3 (ssd_chunked.cu): each chunk's end state from a zero start, then the
// chain of chunk start states.
#include <algorithm>

#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda::ssd {

namespace {

// Pass 2, per (chunk c, head h, rows p0..p0+kPt of head_dim); grid (ceil(P / kPt), H, chunks):
//   local[c, h, p, n] = sum_s exp(cum[Q-1] - cum[s]) delta[s] x[s, p] B[s, n]   = Xw^T B
//   Xw: [Q, kPt] (x scaled per token), B: [Q, Np]; local: [chunks, H, Pp, Np], tiles stored
//   straight from the accumulators (rows past Pp skipped; pads are 0 since x and B are 0-padded)
//   dA_end[c, h] = cum[Q-1]
// Shared memory: Xs [Q, kPt + kPad], Bs [Q, Np + kPad], cum, wts [Q] (51 KB at N = 128).
template <bool kExact>
__global__ void __launch_bounds__(kThreads, 4) ssd_chunk_state_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    extern __shared__ __align__(128) float smem[];
    const int ldn = r.Np + kPad, ldp = kPt + kPad;
    float* Xs = smem;
    float* Bs = Xs + kQ * ldp;
    float* cum = Bs + kQ * ldn;
    float* wts = cum + kQ;  // delta[s] exp(cum[Q-1] - cum[s])
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const std::int64_t p0 = std::int64_t(blockIdx.x) * kPt, h = blockIdx.y, c = blockIdx.z;
    const std::int64_t g = h / (r.H / r.G), t0 = c * kQ;
    const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));

    load_tile(Bs, ldn, r.B + t0 * r.bc_stride + g * r.N, r.bc_stride, kQ, r.Np, L, r.N, r.vec, r.B,
              tid, kThreads);
    load_tile(Xs, ldp, r.x + t0 * r.x_stride + h * r.P + p0, r.x_stride, kQ, kPt, L,
              static_cast<int>(r.P - p0), r.vec, r.x, tid, kThreads);
    if (warp == 0)
        chunk_cumsum(r.delta + t0 * r.H, r.H, h, L, r.A[h], lane, cum, nullptr, nullptr, wts);
    cp_async_commit_wait();
    __syncthreads();
    stage_tile<kExact>(Xs, ldp, kQ, kPt, wts, tid, kThreads);
    stage_tile<kExact>(Bs, ldn, kQ, r.Np, nullptr, tid, kThreads);
    __syncthreads();

    // Tile (pi, ni) of [kPt, Np]: warp w takes pi = w % 4 and ni = w / 4, w / 4 + 2, ..., kAcc
    // tiles at a time: 2 fit 4 blocks an SM (64 registers a thread) without spilling; 4 spilled.
    constexpr int kAcc = 2;
    const int n_tiles = r.Np / 16, pi = warp % 4;
    float* out = r.states + ((c * r.H + h) * r.Pp + p0 + pi * 16) * r.Np;
    const bool store = p0 + pi * 16 < r.Pp;  // a 16-row tile is wholly inside Pp or past it
    for (int nb = warp / 4; nb < n_tiles; nb += 2 * kAcc) {
        Acc acc[kAcc];
#pragma unroll
        for (int j = 0; j < kAcc; ++j) wmma::fill_fragment(acc[j], 0.0f);
#pragma unroll 2
        for (int k0 = 0; k0 < kQ; k0 += 8) {
            FragAc ahi, alo;  // Xw^T [16 rows p, 8 tokens s]: column-major in Xs
            load_tf32<kExact>(ahi, alo, Xs + k0 * ldp + pi * 16, ldp);
#pragma unroll
            for (int j = 0; j < kAcc; ++j) {
                const int ni = nb + 2 * j;
                if (ni < n_tiles) {
                    FragB bhi, blo;
                    load_tf32<kExact>(bhi, blo, Bs + k0 * ldn + ni * 16, ldn);
                    mma_tf32<kExact>(acc[j], ahi, alo, bhi, blo);
                }
            }
        }
        if (store) {
#pragma unroll
            for (int j = 0; j < kAcc; ++j) {
                const int ni = nb + 2 * j;
                if (ni < n_tiles)
                    wmma::store_matrix_sync(out + ni * 16, acc[j], r.Np, wmma::mem_row_major);
            }
        }
    }
    if (blockIdx.x == 0 && tid == 0) r.dA_end[c * r.H + h] = cum[kQ - 1];
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

// Pass 3, per 4 consecutive elements (h, p, n..n+3) of [H, Pp, Np]; sequential over the chunks:
//   S = state[h, p, n] (0 in the pads)
//   for c: start[c] = S; S = exp(dA_end[c, h]) S + local[c]     (start overwrites local in place)
//   state[h, p, n] = S
// Each thread keeps the next chunk's load in flight while it stores the current one (the loop is
// a chain of dependent multiply-adds, not of loads).
__global__ void __launch_bounds__(256) ssd_state_passing_kernel(Round r) {
    const std::int64_t PN = std::int64_t(r.Pp) * r.Np, HPN = r.H * PN;
    const std::int64_t e = (blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x) * 4;
    if (e >= HPN) return;
    const std::int64_t h = e / PN, p = (e % PN) / r.Np, n = e % r.Np;
    const bool row = p < r.P;
    float S[4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
        S[i] = row && n + i < r.N ? r.state[(h * r.P + p) * r.N + n + i] : 0.0f;
    const std::int64_t chunks = chunks_of(r.T);
    auto* slot = reinterpret_cast<float4*>(r.states + e);  // Np % 16 == 0: 16-byte aligned
    const std::int64_t step = HPN / 4;                     // float4s per chunk
    float4 next = slot[0];
    for (std::int64_t c = 0; c < chunks; ++c) {
        const float4 local = next;
        if (c + 1 < chunks) next = slot[(c + 1) * step];
        slot[c * step] = make_float4(S[0], S[1], S[2], S[3]);
        const float decay = __expf(r.dA_end[c * r.H + h]);
        S[0] = decay * S[0] + local.x;
        S[1] = decay * S[1] + local.y;
        S[2] = decay * S[2] + local.z;
        S[3] = decay * S[3] + local.w;
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
        if (row && n + i < r.N) r.state[(h * r.P + p) * r.N + n + i] = S[i];
}

template <bool kExact>
void launch_state(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem =
        std::size_t(kQ * (kPt + kPad) + kQ * (r.Np + kPad) + 2 * kQ) * sizeof(float);
    allow_smem(ssd_chunk_state_kernel<kExact>, smem, smem_set,
               "cudaFuncSetAttribute (ssd_chunk_state)");
    const dim3 grid(blocks_for(r.P, kPt), static_cast<unsigned>(r.H),
                    static_cast<unsigned>(chunks_of(r.T)));
    ssd_chunk_state_kernel<kExact><<<grid, kThreads, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (chunk states)");
}

}  // namespace

void launch_chunk_state(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch_state<true>(r, stream);
    else
        launch_state<false>(r, stream);
}

void launch_state_passing(const Round& r, cudaStream_t stream) {
    const std::int64_t threads = r.H * r.Pp * r.Np / 4;
    ssd_state_passing_kernel<<<blocks_for(threads, 256), 256, 0, stream>>>(r);
    check_launch("ssd_scan_chunked (state passing)");
}

}  // namespace statescope::kernels::cuda::ssd
