// Mamba-2 SSD for prefill: the chunked form of the recurrence (Mamba-2 paper §6) with its products
// on the tensor cores, split into passes as mamba_ssm's mamba_chunk_scan_combined is. Head h
// (group g = h / (H / G)), chunk c of Q = 64 tokens t, s in [0, Q),
// cum[t] = sum_{s<=t} delta[s,h] * A[h], S0 the state at the chunk's start ([P, N]):
//   y[t,p]  = sum_n C[t,n] exp(cum[t]) S0[p,n]                              (inter-chunk)
//           + sum_{s<=t} (sum_n C[t,n] B[s,n]) exp(cum[t] - cum[s]) delta[s] x[s,p]   (intra)
//           + D[h] x[t,p]
//   S1[p,n] = exp(cum[Q-1]) S0[p,n] + sum_s exp(cum[Q-1] - cum[s]) delta[s] x[s,p] B[s,n]
// which is the recurrence of backend.h unrolled over the chunk (every exponent <= 0: no overflow).
// The passes, each parallel over all chunks but the third:
//   1. ssd_chunk_cb.cu     cb[c,g] = C B^T, [Q, Q], once per (chunk, group), not per head
//   2. ssd_chunk_state.cu  local[c,h] = the second term of S1 (the end state from S0 = 0), [P, N];
//                          dA_end[c,h] = cum[Q-1]
//   3. ssd_chunk_state.cu  start[c] = S0 of every chunk: start[0] = state,
//                          start[c+1] = exp(dA_end[c]) start[c] + local[c] (sequential over c,
//                          parallel over (h, p, n)); the last one is the new `state`
//   4. ssd_chunk_scan.cu   y of every chunk from cb, x, C and start[c]
// The products (C B^T, Xw^T B, M X, C S0^T) are TF32 tensor-core products with fp32 accumulators
// (mma.sync m16n8k8, fragments loaded by hand: ssd_chunk.cuh). `exact` splits each operand into a
// TF32 high part and its remainder and sums three products (the 3xTF32 trick: ~fp32 accuracy,
// which the 1e-4 golden cases need); otherwise one product of operands rounded to TF32 once, in
// shared memory (~1e-3 relative). The previous kernel (one block per head and 32 rows of head_dim
// walking its chunks in order) ran 1.75 ms at mamba2-2.7b's shape and T = 4096 on an H200: it
// recomputed C B^T for every head and kept ~2 blocks an SM in a latency-bound chain of chunks.
//
// Scratch: local/start states are [chunks, H, Pp, Np] fp32 (168 MB for T = 4096 at mamba2-2.7b),
// so T is cut into rounds of at most round_chunks() chunks that run the four passes in turn, the
// state carried in `state` from one round to the next: the scratch is bounded whatever T is.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda/scan_chunked.h"
#include "kernels/cuda/ssd_chunk.cuh"

namespace statescope::kernels::cuda {

namespace {

// 32 chunks = 2048 tokens a round: 84 MB of states at mamba2-2.7b (H = 80, P = 64, N = 128) and
// 2560 blocks for passes 2 and 4. Measured on an H200 (mamba2-2.7b bf16 prefill of 4096 tokens,
// exact mode, the WMMA kernels): 8 chunks 32.8k tok/s, 16 34.5k, 32 35.6k: the states leave the
// 50 MB L2 at 32, but the passes fill the GPU better and the launches halve.
// STATESCOPE_SSD_ROUND_CHUNKS=n (1..64) sets it for measuring.
std::int64_t round_chunks() {
    static const std::int64_t n = [] {
        const char* v = std::getenv("STATESCOPE_SSD_ROUND_CHUNKS");
        const long parsed = v != nullptr ? std::strtol(v, nullptr, 10) : 0;
        return parsed >= 1 && parsed <= 64 ? std::int64_t(parsed) : std::int64_t(32);
    }();
    return n;
}

// STATESCOPE_SSD_STATE=chain runs passes 2 and 3 as one kernel, sequential over the chunks with
// the state in registers (ssd_state_chain_kernel in ssd_chunk_state.cu): half the state-sized
// memory traffic, a tenth of the parallelism. For measuring against the two passes (the default).
// Read at every call (a test switches it), once per layer's prefill: nothing next to the kernels.
bool state_chain() {
    const char* v = std::getenv("STATESCOPE_SSD_STATE");
    return v != nullptr && std::strcmp(v, "chain") == 0;
}

// Floats of one chunk's scratch with G groups: its states, its C B^T, its dA_end.
std::int64_t chunk_floats(std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N) {
    return H * ssd::pad16(P) * ssd::pad16(N) + G * ssd::kQ * ssd::kQ + H;
}
// The scratch size takes no G (the callers' signature): it counts one group a chunk, plus H * Q * Q
// floats so that one chunk of any G <= H fits; chunks_per_round() then fits the actual G into it.
std::int64_t scratch_floats(std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t N) {
    const std::int64_t chunks = std::min(ssd::chunks_of(T), round_chunks());
    return chunks * chunk_floats(H, P, 1, N) + H * ssd::kQ * ssd::kQ;
}
std::int64_t chunks_per_round(std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G,
                              std::int64_t N) {
    const std::int64_t fit = scratch_floats(T, H, P, N) / chunk_floats(H, P, G, N);
    return std::min({ssd::chunks_of(T), round_chunks(), fit});
}

}  // namespace

bool ssd_scan_chunked_fits(std::int64_t N) {
    static const int limit = [] {
        int dev = 0, bytes = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
        return bytes;
    }();
    const int Np = ssd::pad16(N);
    const std::size_t need =
        std::max({ssd::chunk_cb_smem_bytes(Np), ssd::chunk_state_smem_bytes(Np),
                  ssd::state_chain_smem_bytes(), ssd::chunk_scan_smem_bytes(Np)});
    return need <= std::size_t(limit);
}

std::size_t ssd_scan_chunked_scratch_bytes(std::int64_t T, std::int64_t H, std::int64_t P,
                                           std::int64_t N) {
    if (T <= 0) return 0;
    return std::size_t(scratch_floats(T, H, P, N)) * sizeof(float);
}

void ssd_scan_chunked(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                      const float* B, const float* C, std::int64_t bc_stride, const float* D,
                      std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G,
                      std::int64_t N, bool exact, float* state, float* y, float* scratch,
                      cudaStream_t stream) {
    if (N > kSsdChunkedMaxN)
        throw std::runtime_error("CUDA chunked SSD: d_state " + std::to_string(N) + " is above " +
                                 std::to_string(kSsdChunkedMaxN));
    if (G < 1 || G > H || H % G != 0)
        throw std::runtime_error("CUDA chunked SSD: " + std::to_string(H) +
                                 " heads do not split into " + std::to_string(G) + " groups");
    if (T <= 0 || H * P == 0) return;
    if (scratch == nullptr || reinterpret_cast<std::uintptr_t>(scratch) % 32 != 0)
        throw std::logic_error(
            "CUDA chunked SSD: scratch of ssd_scan_chunked_scratch_bytes(), "
            "32-byte aligned (16-byte tile rows), is required");
    const std::int64_t rc = chunks_per_round(T, H, P, G, N);
    ssd::Round r{};
    r.x_stride = x_stride;
    r.A = A;
    r.bc_stride = bc_stride;
    r.D = D;
    r.H = H;
    r.P = P;
    r.G = G;
    r.N = static_cast<int>(N);
    r.Np = ssd::pad16(N);
    r.Pp = ssd::pad16(P);
    // 16-byte rows: N, P, the strides and the pointers are multiples of 4 floats (the rounds move
    // the pointers by whole rows, which keeps that).
    const auto a16 = [](const float* q) { return reinterpret_cast<std::uintptr_t>(q) % 16 == 0; };
    r.vec = N % 4 == 0 && P % 4 == 0 && bc_stride % 4 == 0 && x_stride % 4 == 0 && a16(x) &&
            a16(B) && a16(C);
    // Scratch sections in this order, each a multiple of 256 floats long (Pp * Np and Q * Q are):
    // the 16-byte rows (cp.async, float4) and float2 stores into them stay aligned.
    r.states = scratch;
    r.cb = r.states + rc * H * r.Pp * r.Np;
    r.dA_end = r.cb + rc * G * ssd::kQ * ssd::kQ;
    r.state = state;
    for (std::int64_t t0 = 0; t0 < T; t0 += rc * ssd::kQ) {
        r.T = std::min(rc * ssd::kQ, T - t0);
        r.x = x + t0 * x_stride;
        r.delta = delta + t0 * H;
        r.B = B + t0 * bc_stride;
        r.C = C + t0 * bc_stride;
        r.y = y + t0 * H * P;
        ssd::launch_chunk_cb(r, exact, stream);
        if (state_chain()) {
            ssd::launch_state_chain(r, exact, stream);
        } else {
            ssd::launch_chunk_state(r, exact, stream);
            ssd::launch_state_passing(r, stream);
        }
        ssd::launch_chunk_scan(r, exact, stream);
    }
}

}  // namespace statescope::kernels::cuda
