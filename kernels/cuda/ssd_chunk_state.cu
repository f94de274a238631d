// Chunked SSD, passes 2 and 3 (ssd_chunked.cu): each chunk's end state from a zero start, then the
// chain of chunk start states; or both in one kernel sequential over the chunks (chain).
#include <algorithm>

#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda::ssd {

namespace {

// Pass 2, per (chunk c, head h, rows p0..p0+kPt of head_dim); grid (ceil(P / kPt), H, chunks):
//   local[c, h, p, n] = sum_s exp(cum[Q-1] - cum[s]) delta[s] x[s, p] B[s, n]   = Xw^T B
//   Xw: [Q, kPt] (x scaled per token), B: [Q, Np]; local: [chunks, H, Pp, Np], stored straight
//   from the accumulators (rows past Pp skipped; pads are 0 since x and B are 0-padded)
//   dA_end[c, h] = cum[Q-1]
// The loads are two cp.async groups, tokens 0..31 and 32..63, the product over the first half
// running while the second lands. Shared memory: Xs [Q, kPt + 8], Bs [Q, Np + 8] (row strides
// 8 mod 32: the column-major A and k-major B fragment loads are conflict-free), cum, wts [Q]:
// 53 KB at N = 128.
// mma.sync m16n8k8 (ssd_chunk.cuh): warp w takes the 32 rows 32 (w % 2).. of p and the 8-column
// tiles w / 2 + 4 j of n, 4 at a time (Np = 128: one pass of 4): per 8-token step it loads 2 A
// and 4 B fragments for 8 products (the WMMA kernel loaded 3 for 2 tile products, its A twice).
template <bool kExact>
__global__ void __launch_bounds__(kThreads, 3) ssd_chunk_state_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    extern __shared__ __align__(128) float smem[];
    const int ldn = r.Np + 8, ldp = kPt + 8;
    float* Xs = smem;
    float* Bs = Xs + kQ * ldp;
    float* cum = Bs + kQ * ldn;
    float* wts = cum + kQ;  // delta[s] exp(cum[Q-1] - cum[s])
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, q = lane % 4;
    const std::int64_t p0 = std::int64_t(blockIdx.x) * kPt, h = blockIdx.y, c = blockIdx.z;
    const std::int64_t grp = h / (r.H / r.G), t0 = c * kQ;
    const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));
    constexpr int kHalf = kQ / 2;

    for (int part = 0; part < 2; ++part) {
        const int s0 = part * kHalf;
        load_tile(Bs + s0 * ldn, ldn, r.B + (t0 + s0) * r.bc_stride + grp * r.N, r.bc_stride, kHalf,
                  r.Np, L - s0, r.N, r.vec, r.B, tid, kThreads);
        load_tile(Xs + s0 * ldp, ldp, r.x + (t0 + s0) * r.x_stride + h * r.P + p0, r.x_stride,
                  kHalf, kPt, L - s0, static_cast<int>(r.P - p0), r.vec, r.x, tid, kThreads);
        cp_async_commit();
    }
    if (warp == 0)
        chunk_cumsum(r.delta + t0 * r.H, r.H, h, L, r.A[h], lane, cum, nullptr, nullptr, wts);

    const int pr = (warp % 2) * 32, n_tiles = r.Np / 8;
    float* out = r.states + ((c * r.H + h) * r.Pp + p0) * r.Np;
    float acc[2][4][4];  // [row tile][column tile][c0..c3]
    // acc += the product over tokens k_begin..k_end for the column tiles nt0 + 4 j.
    const auto product = [&](int nt0, int k_begin, int k_end) {
        for (int k0 = k_begin; k0 < k_end; k0 += 8) {
            MmaA fa[2];  // Xw^T [16 rows p, 8 tokens]: column-major in Xs
#pragma unroll
            for (int i = 0; i < 2; ++i)
                load_a_col<kExact>(fa[i], Xs + k0 * ldp + pr + i * 16, ldp, g, q);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                if (nt0 + 4 * j >= n_tiles) break;  // uniform over the warp
                MmaB fb;
                load_b_k<kExact>(fb, Bs + k0 * ldn + (nt0 + 4 * j) * 8, ldn, g, q);
                mma_col2<kExact>(acc[0][j], acc[1][j], fa, fb);
            }
        }
    };
    const auto store = [&](int nt0) {
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int nt = nt0 + 4 * j, n = nt * 8 + 2 * q;
                const int p = pr + i * 16 + g;  // and p + 8
                if (nt >= n_tiles) continue;
                if (p0 + p < r.Pp)
                    *reinterpret_cast<float2*>(out + std::int64_t(p) * r.Np + n) =
                        make_float2(acc[i][j][0], acc[i][j][1]);
                if (p0 + p + 8 < r.Pp)
                    *reinterpret_cast<float2*>(out + std::int64_t(p + 8) * r.Np + n) =
                        make_float2(acc[i][j][2], acc[i][j][3]);
            }
    };
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
    for (int part = 0; part < 2; ++part) {
        if (part == 0)
            cp_async_wait<1>();
        else
            cp_async_wait<0>();
        __syncthreads();  // the half landed for every thread (and cum, wts are written)
        const int s0 = part * kHalf;
        stage_tile<kExact>(Xs + s0 * ldp, ldp, kHalf, kPt, wts + s0, tid, kThreads);
        stage_tile<kExact>(Bs + s0 * ldn, ldn, kHalf, r.Np, nullptr, tid, kThreads);
        __syncthreads();
        product(warp / 2, s0, s0 + kHalf);
    }
    store(warp / 2);
    // Np > 128 (256 at most): further passes of 4 column tiles over the staged operands.
    for (int nt0 = warp / 2 + 16; nt0 < n_tiles; nt0 += 16) {
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
        product(nt0, 0, kQ);
        store(nt0);
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
// Each thread keeps the next kAhead chunks' loads in flight while it stores the current one (the
// loop is a chain of dependent multiply-adds, not of loads): with one ahead the kernel reached
// 68% of the H200's DRAM bandwidth, too few bytes in flight to cover the latency.
__global__ void __launch_bounds__(256) ssd_state_passing_kernel(Round r) {
    constexpr int kAhead = 4;
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
    float4 ahead[kAhead];
#pragma unroll
    for (int i = 0; i < kAhead; ++i)
        if (i < chunks) ahead[i] = slot[i * step];
    for (std::int64_t c0 = 0; c0 < chunks; c0 += kAhead) {
#pragma unroll
        for (int i = 0; i < kAhead; ++i) {  // chunk c0 + i is in ahead[i]
            const std::int64_t c = c0 + i;
            if (c >= chunks) break;
            const float4 local = ahead[i];
            if (c + kAhead < chunks) ahead[i] = slot[(c + kAhead) * step];
            slot[c * step] = make_float4(S[0], S[1], S[2], S[3]);
            const float decay = __expf(r.dA_end[c * r.H + h]);
            S[0] = decay * S[0] + local.x;
            S[1] = decay * S[1] + local.y;
            S[2] = decay * S[2] + local.z;
            S[3] = decay * S[3] + local.w;
        }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
        if (row && n + i < r.N) r.state[(h * r.P + p) * r.N + n + i] = S[i];
}

// Passes 2 and 3 in one (STATESCOPE_SSD_STATE=chain, ssd_chunked.cu), per (32 columns n0.. of
// Np, rows p0..p0+kPt of head_dim, head h); grid (ceil(Np / 32), ceil(P / kPt), H), 4 warps;
// sequential over the round's chunks:
//   S = state[h, p0.., n0..] (0 in the pads)
//   for c: start[c] = S;  S = exp(cum_c[Q-1]) S + sum_s x[s, p] wts_c[s] B[s, n]
//   state = S
// S lives in the mma accumulators (the product adds the chunk's Xw^T B to the decayed state), so
// the chunk-local states are never written and read back: of the passes' 4 state-sized transfers
// a round (local written, read, start written, read by the output pass; 84 MB each at
// mamba2-2.7b's shape and 32 chunks) 2 remain. The price: 320 blocks at that shape, each a chain
// of 32 steps, and x read once per 32 columns (from L2 after the first). Chunk c + 1's x and B
// load (cp.async, double-buffered) and warp 0's delta loads for it are in flight during chunk c's
// product. Shared memory, two buffers of Xs [Q, kPt + 8], Bs [Q, 32 + 8] (strides 8 mod 32),
// cum, wts [Q]: 58 KB.
// Warp w takes the 16 rows 16 w.. of p and the 4 column tiles of 8.
constexpr int kChainN = 32;
template <bool kExact>
__global__ void __launch_bounds__(128) ssd_state_chain_kernel(Round r) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    constexpr int kT = 128, ldx = kPt + 8, ldb = kChainN + 8;
    constexpr int kBuf = kQ * ldx + kQ * ldb + 2 * kQ;  // a multiple of 4: 16-byte aligned
    extern __shared__ __align__(128) float smem[];
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, q = lane % 4;
    const int n0 = static_cast<int>(blockIdx.x) * kChainN;
    const std::int64_t p0 = std::int64_t(blockIdx.y) * kPt, h = blockIdx.z;
    const std::int64_t grp = h / (r.H / r.G);
    const std::int64_t chunks = chunks_of(r.T);
    const float Ah = r.A[h];
    const auto Xs = [&](int b) { return smem + b * kBuf; };
    const auto Bs = [&](int b) { return smem + b * kBuf + kQ * ldx; };
    const auto cum = [&](int b) { return smem + b * kBuf + kQ * ldx + kQ * ldb; };
    const auto wts = [&](int b) { return cum(b) + kQ; };
    const auto load = [&](std::int64_t c, int b) {
        const std::int64_t t0 = c * kQ;
        const int L = static_cast<int>(std::min<std::int64_t>(kQ, r.T - t0));
        load_tile(Xs(b), ldx, r.x + t0 * r.x_stride + h * r.P + p0, r.x_stride, kQ, kPt, L,
                  static_cast<int>(r.P - p0), r.vec, r.x, tid, kT);
        load_tile(Bs(b), ldb, r.B + t0 * r.bc_stride + grp * r.N + n0, r.bc_stride, kQ, kChainN, L,
                  r.N - n0, r.vec, r.B, tid, kT);
    };
    const auto chunk_len = [&](std::int64_t c) {
        return static_cast<int>(std::min<std::int64_t>(kQ, r.T - c * kQ));
    };

    // S in the C layout: acc[j] is the 16 x 8 tile (rows 16 w.., columns n0 + 8 j..).
    float acc[4][4];
    const int pw = warp * 16;
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const std::int64_t p = p0 + pw + g + (e / 2) * 8;
            const int n = n0 + j * 8 + 2 * q + e % 2;
            acc[j][e] = p < r.P && n < r.N ? r.state[(h * r.P + p) * r.N + n] : 0.0f;
        }

    load(0, 0);
    cp_async_commit();
    if (warp == 0)
        chunk_cumsum(r.delta, r.H, h, chunk_len(0), Ah, lane, cum(0), nullptr, nullptr, wts(0));
    for (std::int64_t c = 0; c < chunks; ++c) {
        const int b = static_cast<int>(c & 1);
        const bool next = c + 1 < chunks;
        if (next) load(c + 1, b ^ 1);  // the buffer chunk c - 1 used; barrier (C) freed it
        cp_async_commit();
        float d0 = 0.0f, d1 = 0.0f;  // warp 0: chunk c + 1's deltas, used after the product
        if (warp == 0 && next)
            chunk_delta(r.delta + (c + 1) * kQ * r.H, r.H, h, chunk_len(c + 1), lane, d0, d1);
        cp_async_wait<1>();  // chunk c's group (chunk c + 1's may still be in flight)
        __syncthreads();     // (A) chunk c's x, B, cum, wts are there for every thread
        stage_tile<kExact>(Bs(b), ldb, kQ, kChainN, wts(b), tid, kT);
        stage_tile<kExact>(Xs(b), ldx, kQ, kPt, nullptr, tid, kT);  // TF32 mode: rounds

        // start[c] = S, then S *= exp(cum_c[Q-1]).
        float* out = r.states + ((c * r.H + h) * r.Pp + p0) * r.Np;
        const float decay = __expf(cum(b)[kQ - 1]);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + j * 8 + 2 * q, p = pw + g;  // and p + 8
            if (n < r.Np) {
                if (p0 + p < r.Pp)
                    *reinterpret_cast<float2*>(out + std::int64_t(p) * r.Np + n) =
                        make_float2(acc[j][0], acc[j][1]);
                if (p0 + p + 8 < r.Pp)
                    *reinterpret_cast<float2*>(out + std::int64_t(p + 8) * r.Np + n) =
                        make_float2(acc[j][2], acc[j][3]);
            }
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[j][e] *= decay;
        }
        __syncthreads();  // (B) staged

        // S += Xw^T B: A = Xs column-major ([16 rows p, 8 tokens]), B = Bs k-major.
        for (int k0 = 0; k0 < kQ; k0 += 8) {
            MmaA fa;
            load_a_col<kExact>(fa, Xs(b) + k0 * ldx + pw, ldx, g, q);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                if (n0 + j * 8 >= r.Np) break;  // uniform over the block
                MmaB fb;
                load_b_k<kExact>(fb, Bs(b) + k0 * ldb + j * 8, ldb, g, q);
                mma<kExact>(acc[j], fa, fb);
            }
        }
        if (warp == 0 && next)
            chunk_cumsum_of(d0, d1, Ah, lane, cum(b ^ 1), nullptr, nullptr, wts(b ^ 1));
        __syncthreads();  // (C) buffer b read by all: chunk c + 2 may load into it
    }
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const std::int64_t p = p0 + pw + g + (e / 2) * 8;
            const int n = n0 + j * 8 + 2 * q + e % 2;
            if (p < r.P && n < r.N) r.state[(h * r.P + p) * r.N + n] = acc[j][e];
        }
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

template <bool kExact>
void launch_chain(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem = state_chain_smem_bytes();
    allow_smem(ssd_state_chain_kernel<kExact>, smem, smem_set,
               "cudaFuncSetAttribute (ssd_state_chain)");
    const dim3 grid(blocks_for(r.Np, kChainN), blocks_for(r.P, kPt), static_cast<unsigned>(r.H));
    ssd_state_chain_kernel<kExact><<<grid, 128, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (state chain)");
}

template <bool kExact>
void launch_state(const Round& r, cudaStream_t stream) {
    static std::size_t smem_set = 0;
    const std::size_t smem = chunk_state_smem_bytes(r.Np);
    allow_smem(ssd_chunk_state_kernel<kExact>, smem, smem_set,
               "cudaFuncSetAttribute (ssd_chunk_state)");
    const dim3 grid(blocks_for(r.P, kPt), static_cast<unsigned>(r.H),
                    static_cast<unsigned>(chunks_of(r.T)));
    ssd_chunk_state_kernel<kExact><<<grid, kThreads, smem, stream>>>(r);
    check_launch("ssd_scan_chunked (chunk states)");
}

}  // namespace

std::size_t chunk_state_smem_bytes(int Np) {
    return std::size_t(kQ * (kPt + 8) + kQ * (Np + 8) + 2 * kQ) * sizeof(float);
}
std::size_t state_chain_smem_bytes() {
    return std::size_t(2 * (kQ * (kPt + 8) + kQ * (kChainN + 8) + 2 * kQ)) * sizeof(float);
}

void launch_chunk_state(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch_state<true>(r, stream);
    else
        launch_state<false>(r, stream);
}

void launch_state_chain(const Round& r, bool exact, cudaStream_t stream) {
    if (exact)
        launch_chain<true>(r, stream);
    else
        launch_chain<false>(r, stream);
}

void launch_state_passing(const Round& r, cudaStream_t stream) {
    const std::int64_t threads = r.H * r.Pp * r.Np / 4;
    ssd_state_passing_kernel<<<blocks_for(threads, 256), 256, 0, stream>>>(r);
    check_launch("ssd_scan_chunked (state passing)");
}

}  // namespace statescope::kernels::cuda::ssd
