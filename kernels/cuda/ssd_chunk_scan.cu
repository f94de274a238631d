// Chunked SSD, pass 4 (ssd_chunked.cu): the output of every chunk from its start state, all chunks
// in parallel.
#include <algorithm>

#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda::ssd {

namespace {

// Per (chunk c, head h, rows p0..p0+kPt of head_dim); grid (ceil(P / kPt), H, chunks):
//   y[t, p] = exp(cum[t]) sum_n C[t, n] start[c, h, p, n]                             (inter)
//           + sum_{s<=t} M[t, s] x[s, p],  M[t, s] = cb[c, g, t, s] exp(cum[t] - cum[s]) delta[s]
//                                                                                     (intra)
//           + D[h] x[t, p]
// exp(cum[t]) scales the accumulator rows between the two products and delta[s] goes into M, so
// C, start and x enter the products as loaded: exact mode takes them straight from cp.async,
// TF32 mode rounds them once in place; only M is computed element by element.
//
// The loads are three cp.async groups, each product starting as its operands land (the earlier
// kernel waited for all 96 KB before its first product):
//   0: C[:, :Np/2], start[:, :Np/2]   1: C[:, Np/2:], start[:, Np/2:]   2: cb, x
// Shared memory: Cs [Q, Np + 4], Ss [kPt, Np + 4], Ms [Q, Q + 4], Xs [Q, kPt + 8], cum, dts,
// ecum [Q]: 104 KB at N = 128 (2 blocks an SM), 170 KB at N = 256.
// mma.sync m16n8k8 (ssd_chunk.cuh): warp w takes the 16-row tiles a = w % 2 and 3 - a (paired so
// that the triangular intra product gives every warp 5 of the 10 tile-steps; the WMMA kernel gave
// warps 1 to 4) and the 16 columns 16 (w / 2).. of p: per 8-wide step of k it loads 2 A and 2 B
// fragments for 4 products, and writes y from its accumulators (no staging of Y).
template <bool kExact>
__global__ void __launch_bounds__(kThreads, 2) ssd_chunk_scan_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    extern __shared__ __align__(128) float smem[];
    const int ldn = r.Np + kPad, ldq = kQ + kPad, ldx = kPt + 8;
    float* Cs = smem;
    float* Ss = Cs + kQ * ldn;
    float* Ms = Ss + kPt * ldn;
    float* Xs = Ms + kQ * ldq;
    float* cum = Xs + kQ * ldx;
    float* dts = cum + kQ;
    float* ecum = dts + kQ;
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, q = lane % 4;
    const std::int64_t p0 = std::int64_t(blockIdx.x) * kPt, h = blockIdx.y, c = blockIdx.z;
    const std::int64_t grp = h / (r.H / r.G), t0 = c * kQ;
    const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));
    const int half = r.Np / 2;  // a multiple of 8

    // The scratch arrays are 16-byte rows always; x and C as the caller's layout allows.
    const float* Cg = r.C + t0 * r.bc_stride + grp * r.N;
    const float* Sg = r.states + ((c * r.H + h) * r.Pp + p0) * r.Np;
    for (int part = 0; part < 2; ++part) {
        const int n0 = part * half;
        load_tile(Cs + n0, ldn, Cg + n0, r.bc_stride, kQ, half, L, r.N - n0, r.vec, r.C, tid,
                  kThreads);
        load_tile(Ss + n0, ldn, Sg + n0, r.Np, kPt, half, static_cast<int>(r.Pp - p0), r.Np - n0,
                  true, r.states, tid, kThreads);
        cp_async_commit();
    }
    load_tile(Ms, ldq, r.cb + (c * r.G + grp) * kQ * kQ, kQ, kQ, kQ, kQ, kQ, true, r.cb, tid,
              kThreads);
    load_tile(Xs, ldx, r.x + t0 * r.x_stride + h * r.P + p0, r.x_stride, kQ, kPt, L,
              static_cast<int>(r.P - p0), r.vec, r.x, tid, kThreads);
    cp_async_commit();
    if (warp == 0)
        chunk_cumsum(r.delta + t0 * r.H, r.H, h, L, r.A[h], lane, cum, dts, ecum, nullptr);

    const int a = warp % 2, pc = (warp / 2) * 16;
    const int rt[2] = {a * 16, (3 - a) * 16};
    float acc[2][2][4] = {};
    // Inter-chunk: C [16 rows t, 8 n] times start^T (n-major in Ss), a half of N per group.
    for (int part = 0; part < 2; ++part) {
        if (part == 0)
            cp_async_wait<2>();
        else
            cp_async_wait<1>();
        __syncthreads();  // the part landed for every thread (and cum, dts, ecum are written)
        const int n0 = part * half;
        if constexpr (!kExact) {
            stage_tile<false>(Cs + n0, ldn, kQ, half, nullptr, tid, kThreads);
            stage_tile<false>(Ss + n0, ldn, kPt, half, nullptr, tid, kThreads);
            __syncthreads();
        }
        for (int k0 = n0; k0 < n0 + half; k0 += 8) {
            MmaA fa[2];
            MmaB fb[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) load_a_row<kExact>(fa[i], Cs + rt[i] * ldn + k0, ldn, g, q);
#pragma unroll
            for (int j = 0; j < 2; ++j)
                load_b_n<kExact>(fb[j], Ss + (pc + j * 8) * ldn + k0, ldn, g, q);
#pragma unroll
            for (int i = 0; i < 2; ++i) mma_row<kExact>(acc[i], fa[i], fb);
        }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const float e0 = ecum[rt[i] + g], e1 = ecum[rt[i] + g + 8];
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            acc[i][j][0] *= e0, acc[i][j][1] *= e0;
            acc[i][j][2] *= e1, acc[i][j][3] *= e1;
        }
    }

    cp_async_wait<0>();
    __syncthreads();
    for (int k = tid; k < kQ * kQ; k += kThreads) {
        const int t = k / kQ, s = k % kQ;
        const float m = s <= t ? Ms[t * ldq + s] * __expf(cum[t] - cum[s]) * dts[s] : 0.0f;
        Ms[t * ldq + s] = kExact ? m : to_tf32(m);
    }
    if constexpr (!kExact) stage_tile<false>(Xs, ldx, kQ, kPt, nullptr, tid, kThreads);
    __syncthreads();
    // Intra-chunk: M [16 rows t, 8 tokens s] times x (k-major in Xs), over the tokens up to the
    // tile's last row: 16 (4 - a) for the tile 3 - a, 16 (a + 1) for the tile a.
    for (int k0 = 0; k0 < (4 - a) * 16; k0 += 8) {
        MmaB fb[2];
#pragma unroll
        for (int j = 0; j < 2; ++j) load_b_k<kExact>(fb[j], Xs + k0 * ldx + pc + j * 8, ldx, g, q);
        MmaA fa;
        load_a_row<kExact>(fa, Ms + rt[1] * ldq + k0, ldq, g, q);
        mma_row<kExact>(acc[1], fa, fb);
        if (k0 < (a + 1) * 16) {  // uniform over the warp
            load_a_row<kExact>(fa, Ms + rt[0] * ldq + k0, ldq, g, q);
            mma_row<kExact>(acc[0], fa, fb);
        }
    }

    // y from the accumulators (c0, c1: row g, columns 2q, 2q + 1; c2, c3: row g + 8). Exact mode
    // has x as loaded in Xs; TF32 mode rounded it there, so D x reads the global x.
    const float Dh = r.D[h];
    const std::int64_t HP = r.H * r.P;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int t = rt[i] + g + (e / 2) * 8, p = pc + j * 8 + 2 * q + e % 2;
                if (t >= L || p0 + p >= r.P) continue;
                const std::int64_t col = h * r.P + p0 + p;
                const float xv = kExact ? Xs[t * ldx + p] : r.x[(t0 + t) * r.x_stride + col];
                r.y[(t0 + t) * HP + col] = acc[i][j][e] + Dh * xv;
            }
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

template <bool kExact>
void launch(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem = chunk_scan_smem_bytes(r.Np);
    allow_smem(ssd_chunk_scan_kernel<kExact>, smem, smem_set,
               "cudaFuncSetAttribute (ssd_chunk_scan)");
    const dim3 grid(blocks_for(r.P, kPt), static_cast<unsigned>(r.H),
                    static_cast<unsigned>(chunks_of(r.T)));
    ssd_chunk_scan_kernel<kExact><<<grid, kThreads, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (output)");
}

}  // namespace

std::size_t chunk_scan_smem_bytes(int Np) {
    return std::size_t((kQ + kPt) * (Np + kPad) + kQ * (kQ + kPad) + kQ * (kPt + 8) + 3 * kQ) *
           sizeof(float);
}

void launch_chunk_scan(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch<true>(r, stream);
    else
        launch<false>(r, stream);
}

}  // namespace statescope::kernels::cuda::ssd
