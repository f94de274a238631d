// Chunked SSD, pass 1 (ssd_chunked.cu): C B^T of every chunk, once per group.
//   cb[c, g, t, s] = sum_n C[c*Q + t, g, n] B[c*Q + s, g, n]     cb: [chunks, G, Q, Q] fp32
// It depends on neither the head nor head_dim, so computing it here instead of in every output
// block saves H / G * ceil(P / kPt) copies of it (80 at mamba2-2.7b). Only the 10 tiles of 16x16 on
// or below the diagonal are products (the output pass masks s > t); the 6 above are written as 0.
#include <algorithm>

#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda::ssd {

namespace {

// A block of 4 warps per (lower tile, chunk, group): grid (10, chunks, G). The warps split the
// sum over n (warp w takes the 8-wide steps w, w + 4, ...) and add their partial tiles in shared
// memory: the one-warp blocks of before ran 0.09 waves, each warp a chain of 16 dependent steps.
// Shared memory: the tile's 16 rows of C and 16 rows of B, [16, Np + kPad] each, and the 4
// partial tiles [4, 16, 16].
template <bool kExact>
__global__ void __launch_bounds__(128) ssd_chunk_cb_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    constexpr int kWarps = 4, kT = kWarps * 32;
    extern __shared__ __align__(128) float smem[];
    const int ldn = r.Np + kPad;
    float* Cs = smem;
    float* Bs = Cs + 16 * ldn;
    float* part = Bs + 16 * ldn;
    int ti = 0, si = static_cast<int>(blockIdx.x);  // tile index 0..9 -> (row ti, column si <= ti)
    while (si > ti) si -= ++ti;
    const std::int64_t c = blockIdx.y, grp = blockIdx.z, t0 = c * kQ;
    const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, q = lane % 4;
    load_tile(Cs, ldn, r.C + (t0 + ti * 16) * r.bc_stride + grp * r.N, r.bc_stride, 16, r.Np,
              L - ti * 16, r.N, r.vec, r.C, tid, kT);
    load_tile(Bs, ldn, r.B + (t0 + si * 16) * r.bc_stride + grp * r.N, r.bc_stride, 16, r.Np,
              L - si * 16, r.N, r.vec, r.B, tid, kT);
    cp_async_commit_wait();
    __syncthreads();
    stage_tile<kExact>(Cs, ldn, 16, r.Np, nullptr, tid, kT);
    stage_tile<kExact>(Bs, ldn, 16, r.Np, nullptr, tid, kT);
    __syncthreads();

    // acc[t, s] = sum_n Cs[t, n] Bs[s, n]: A row-major slices of Cs, B = Bs^T (n-major in Bs).
    float acc[2][4] = {};
    for (int k0 = warp * 8; k0 < r.Np; k0 += kWarps * 8) {
        MmaA fa;
        load_a_row<kExact>(fa, Cs + k0, ldn, g, q);
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            MmaB fb;
            load_b_n<kExact>(fb, Bs + j * 8 * ldn + k0, ldn, g, q);
            mma<kExact>(acc[j], fa, fb);
        }
    }
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
            part[warp * 256 + (g + (e / 2) * 8) * 16 + j * 8 + 2 * q + e % 2] = acc[j][e];
    __syncthreads();
    float* out = r.cb + ((c * r.G + grp) * kQ + ti * 16) * kQ;  // row ti * 16 of the chunk's cb
    for (int k = tid; k < 256; k += kT) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) sum += part[w * 256 + k];
        out[(k / 16) * kQ + si * 16 + k % 16] = sum;
    }
    if (si == ti)  // the diagonal block also writes its row's tiles above the diagonal
        for (int k = tid; k < 16 * kQ; k += kT)
            if (k % kQ >= (ti + 1) * 16) out[k] = 0.0f;
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

template <bool kExact>
void launch(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem = chunk_cb_smem_bytes(r.Np);
    allow_smem(ssd_chunk_cb_kernel<kExact>, smem, smem_set, "cudaFuncSetAttribute (ssd_chunk_cb)");
    const dim3 grid(10, static_cast<unsigned>(chunks_of(r.T)), static_cast<unsigned>(r.G));
    ssd_chunk_cb_kernel<kExact><<<grid, 128, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (C B^T)");
}

}  // namespace

std::size_t chunk_cb_smem_bytes(int Np) {
    return std::size_t(2 * 16 * (Np + kPad) + 4 * 256) * sizeof(float);
}

void launch_chunk_cb(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch<true>(r, stream);
    else
        launch<false>(r, stream);
}

}  // namespace statescope::kernels::cuda::ssd
