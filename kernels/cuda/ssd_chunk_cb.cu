// Chunked SSD, pass 1 (ssd_chunked.cu): C B^T of every chunk, once per group.
//   cb[c, g, t, s] = sum_n C[c*Q + t, g, n] B[c*Q + s, g, n]     cb: [chunks, G, Q, Q] fp32
// It depends on neither the head nor head_dim, so computing it here instead of in every output
// block saves H / G * ceil(P / kPt) copies of it (80 at mamba2-2.7b). Only the 10 tiles of 16x16 on
// or below the diagonal are products (the output pass masks s > t); the 6 above are written as 0.
#include <algorithm>

#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda::ssd {

namespace {

// One warp per (lower tile, chunk, group): grid (10, chunks, G). Shared memory: the tile's 16 rows
// of C and 16 rows of B, [16, Np + kPad] each.
template <bool kExact>
__global__ void __launch_bounds__(32) ssd_chunk_cb_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    extern __shared__ __align__(128) float smem[];
    const int ldn = r.Np + kPad;
    float* Cs = smem;
    float* Bs = Cs + 16 * ldn;
    int ti = 0, si = static_cast<int>(blockIdx.x);  // tile index 0..9 -> (row ti, column si <= ti)
    while (si > ti) si -= ++ti;
    const std::int64_t c = blockIdx.y, g = blockIdx.z, t0 = c * kQ;
    const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));
    const int lane = static_cast<int>(threadIdx.x);
    load_tile(Cs, ldn, r.C + (t0 + ti * 16) * r.bc_stride + g * r.N, r.bc_stride, 16, r.Np,
              L - ti * 16, r.N, r.vec, r.C, lane, 32);
    load_tile(Bs, ldn, r.B + (t0 + si * 16) * r.bc_stride + g * r.N, r.bc_stride, 16, r.Np,
              L - si * 16, r.N, r.vec, r.B, lane, 32);
    cp_async_commit_wait();
    __syncwarp();
    stage_tile<kExact>(Cs, ldn, 16, r.Np, nullptr, lane, 32);
    stage_tile<kExact>(Bs, ldn, 16, r.Np, nullptr, lane, 32);
    __syncwarp();

    // acc[t, s] = sum_n Cs[t, n] Bs[s, n]: A row-major [16, 8] slices of Cs, B = Bs^T col-major.
    Acc acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int k0 = 0; k0 < r.Np; k0 += 8) {
        FragA ahi, alo;
        FragBc bhi, blo;
        load_tf32<kExact>(ahi, alo, Cs + k0, ldn);
        load_tf32<kExact>(bhi, blo, Bs + k0, ldn);
        mma_tf32<kExact>(acc, ahi, alo, bhi, blo);
    }
    float* out = r.cb + ((c * r.G + g) * kQ + ti * 16) * kQ;
    wmma::store_matrix_sync(out + si * 16, acc, kQ, wmma::mem_row_major);
    if (si == ti) {  // the diagonal block also writes its row's tiles above the diagonal
        wmma::fill_fragment(acc, 0.0f);
        for (int sj = ti + 1; sj < kQ / 16; ++sj)
            wmma::store_matrix_sync(out + sj * 16, acc, kQ, wmma::mem_row_major);
    }
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

template <bool kExact>
void launch(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem = std::size_t(2 * 16 * (r.Np + kPad)) * sizeof(float);
    allow_smem(ssd_chunk_cb_kernel<kExact>, smem, smem_set, "cudaFuncSetAttribute (ssd_chunk_cb)");
    const dim3 grid(10, static_cast<unsigned>(chunks_of(r.T)), static_cast<unsigned>(r.G));
    ssd_chunk_cb_kernel<kExact><<<grid, 32, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (C B^T)");
}

}  // namespace

void launch_chunk_cb(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch<true>(r, stream);
    else
        launch<false>(r, stream);
}

}  // namespace statescope::kernels::cuda::ssd
