// Chunked SSD, pass 4 (ssd_chunked.cu): the output of every chunk from its start state, all chunks
// in parallel.
#include <algorithm>

#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda::ssd {

namespace {

// Per (chunk c, head h, rows p0..p0+kPt of head_dim); grid (ceil(P / kPt), H, chunks):
//   M[t, s]  = cb[c, g, t, s] exp(cum[t] - cum[s]) for s <= t, else 0          [Q, Q]
//   y[t, p]  = sum_s M[t, s] delta[s] x[s, p]                                   (intra-chunk)
//            + sum_n exp(cum[t]) C[t, n] start[c, h, p, n]                      (inter-chunk)
//            + D[h] x[t, p]
// Shared memory: Ms [Q, Q + kPad] (then Y [Q, kPt + kPad]), Xs [Q, kPt + kPad], Cs [Q, Np + kPad],
// Ss [kPt, Np + kPad], cum, dts, ecum [Q]: 103 KB at N = 128 (2 blocks an SM), 169 KB at N = 256.
// Warp w computes the Y tiles (w / 2, 2 (w % 2)) and (w / 2, 2 (w % 2) + 1), sharing the A operand.
template <bool kExact>
__global__ void __launch_bounds__(kThreads) ssd_chunk_scan_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    static_assert(kPt == kQ, "Y [Q, kPt] is staged where M [Q, Q] was");
    extern __shared__ __align__(128) float smem[];
    const int ldn = r.Np + kPad, ldq = kQ + kPad, ldp = kPt + kPad;
    float* Ms = smem;
    float* Xs = Ms + kQ * ldq;
    float* Cs = Xs + kQ * ldp;
    float* Ss = Cs + kQ * ldn;
    float* cum = Ss + kPt * ldn;
    float* dts = cum + kQ;
    float* ecum = dts + kQ;
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const std::int64_t p0 = std::int64_t(blockIdx.x) * kPt, h = blockIdx.y, c = blockIdx.z;
    const std::int64_t g = h / (r.H / r.G), t0 = c * kQ;
    const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));

    // The scratch arrays are 16-byte rows always; x and C as the caller's layout allows.
    load_tile(Ms, ldq, r.cb + (c * r.G + g) * kQ * kQ, kQ, kQ, kQ, kQ, kQ, true, r.cb, tid,
              kThreads);
    load_tile(Ss, ldn, r.states + ((c * r.H + h) * r.Pp + p0) * r.Np, r.Np, kPt, r.Np,
              static_cast<int>(r.Pp - p0), r.Np, true, r.states, tid, kThreads);
    load_tile(Cs, ldn, r.C + t0 * r.bc_stride + g * r.N, r.bc_stride, kQ, r.Np, L, r.N, r.vec, r.C,
              tid, kThreads);
    load_tile(Xs, ldp, r.x + t0 * r.x_stride + h * r.P + p0, r.x_stride, kQ, kPt, L,
              static_cast<int>(r.P - p0), r.vec, r.x, tid, kThreads);
    if (warp == 0)
        chunk_cumsum(r.delta + t0 * r.H, r.H, h, L, r.A[h], lane, cum, dts, ecum, nullptr);
    cp_async_commit_wait();
    __syncthreads();
    for (int k = tid; k < kQ * kQ; k += kThreads) {
        const int t = k / kQ, s = k % kQ;
        const float m = s <= t ? Ms[t * ldq + s] * __expf(cum[t] - cum[s]) : 0.0f;
        Ms[t * ldq + s] = kExact ? m : to_tf32(m);
    }
    stage_tile<kExact>(Cs, ldn, kQ, r.Np, ecum, tid, kThreads);
    stage_tile<kExact>(Xs, ldp, kQ, kPt, dts, tid, kThreads);
    stage_tile<kExact>(Ss, ldn, kPt, r.Np, nullptr, tid, kThreads);
    __syncthreads();

    const int ti = warp / 2, pj = (warp % 2) * 2;
    Acc acc[2];
    wmma::fill_fragment(acc[0], 0.0f);
    wmma::fill_fragment(acc[1], 0.0f);
    // Inter-chunk: (C exp(cum)) [16 rows t, 8 n] times start^T (column-major in Ss).
    for (int k0 = 0; k0 < r.Np; k0 += 8) {
        FragA ahi, alo;
        load_tf32<kExact>(ahi, alo, Cs + ti * 16 * ldn + k0, ldn);
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            FragBc bhi, blo;
            load_tf32<kExact>(bhi, blo, Ss + (pj + j) * 16 * ldn + k0, ldn);
            mma_tf32<kExact>(acc[j], ahi, alo, bhi, blo);
        }
    }
    // Intra-chunk: M [16 rows t, 8 tokens s] times Xw, over the tokens s up to the tile's last row.
    for (int k0 = 0; k0 < (ti + 1) * 16; k0 += 8) {
        FragA ahi, alo;
        load_tf32<kExact>(ahi, alo, Ms + ti * 16 * ldq + k0, ldq);
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            FragB bhi, blo;
            load_tf32<kExact>(bhi, blo, Xs + k0 * ldp + (pj + j) * 16, ldp);
            mma_tf32<kExact>(acc[j], ahi, alo, bhi, blo);
        }
    }
    __syncthreads();  // every warp is done with M: Y goes there
#pragma unroll
    for (int j = 0; j < 2; ++j)
        wmma::store_matrix_sync(Ms + ti * 16 * ldq + (pj + j) * 16, acc[j], ldq,
                                wmma::mem_row_major);
    __syncthreads();
    const float Dh = r.D[h];
    const std::int64_t HP = r.H * r.P;
    for (int k = tid; k < L * kPt; k += kThreads) {
        const int t = k / kPt, p = k % kPt;
        if (p0 + p >= r.P) continue;
        const std::int64_t col = h * r.P + p0 + p;
        r.y[(t0 + t) * HP + col] = Ms[t * ldq + p] + Dh * r.x[(t0 + t) * r.x_stride + col];
    }
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

template <bool kExact>
void launch(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem =
        std::size_t(kQ * (kQ + kPad) + kQ * (kPt + kPad) + (kQ + kPt) * (r.Np + kPad) + 3 * kQ) *
        sizeof(float);
    allow_smem(ssd_chunk_scan_kernel<kExact>, smem, smem_set,
               "cudaFuncSetAttribute (ssd_chunk_scan)");
    const dim3 grid(blocks_for(r.P, kPt), static_cast<unsigned>(r.H),
                    static_cast<unsigned>(chunks_of(r.T)));
    ssd_chunk_scan_kernel<kExact><<<grid, kThreads, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (output)");
}

}  // namespace

void launch_chunk_scan(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch<true>(r, stream);
    else
        launch<false>(r, stream);
}

}  // namespace statescope::kernels::cuda::ssd
