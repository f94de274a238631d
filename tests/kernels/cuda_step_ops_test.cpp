// The CUDA recordable-step ops (backend.h: step_scalars, rope_at, write_rows_at, attention_at,
// moe_experts) against the CPU ops on random inputs, at sizes that are no multiple of the kernels'
// tiles (8-warp blocks, 16-byte loads, 32-key tiles), each weight dtype; and a recording of them
// replayed at other positions, which must read the positions each replay is given.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#ifdef STATESCOPE_HAVE_CUDA
#include "kernels/cuda/ops.h"
#endif

namespace statescope::kernels::test {
namespace {

// Bytes in CUDA memory from a host vector of any trivially copyable type.
class DevBytes {
  public:
    template <typename V>
    explicit DevBytes(const std::vector<V>& host) : buf_(cuda().alloc(host.size() * sizeof(V))) {
        cuda().copy_from_host(host.data(), buf_->data(), host.size() * sizeof(V));
    }
    template <typename P>
    P* as() {
        return static_cast<P*>(buf_->data());
    }

  private:
    std::unique_ptr<Buffer> buf_;
};

std::vector<float> inv_freq(std::int64_t rotary, float theta) {
    std::vector<float> inv(static_cast<std::size_t>(rotary / 2));
    for (std::size_t j = 0; j < inv.size(); ++j)
        inv[j] = std::pow(theta, -2.0f * float(j) / float(rotary));
    return inv;
}

// rope_at reads the position the step scalars hold; the same fp32 angles and double cos/sin as
// the CPU op, so the RopeMatchesCpu tolerance: 5e-6 relative, floored at 0.05 of the largest.
TEST(CudaStepOps, RopeAtMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(61);
    for (std::int64_t hd : {16, 80, 128})
        for (std::int64_t n_heads : {1, 7})
            for (std::int64_t T : {1, 3})
                for (std::int64_t pos0 : {1, 1000, 200000}) {
                    const std::int64_t rotary = hd == 80 ? 40 : hd;
                    const std::vector<float> inv = inv_freq(rotary, 10000.0f);
                    const std::int64_t width = n_heads * hd, stride = width + 3;
                    std::vector<float> x =
                        strided(rng.vec(std::size_t(T * width), -2.0f, 2.0f), T, width, stride);
                    Dev dx(x), dinv(inv);
                    const std::int64_t host_pos[1] = {pos0};
                    const std::int64_t* p = cuda().step_scalars(host_pos, 1);
                    cpu().rope(x.data(), stride, T, n_heads, hd, rotary, pos0, inv.data());
                    cuda().rope_at(dx.get(), stride, T, n_heads, hd, rotary, p, dinv.get());
                    expect_near_cpu(dx.host(), x, 5e-6, 0.05,
                                    "rope_at hd=" + sz(hd) + " heads=" + sz(n_heads) +
                                        " T=" + sz(T) + " pos0=" + sz(pos0));
                }
}

// A copy: exact, and no other row of the cache changes.
TEST(CudaStepOps, WriteRowsAtIsExact) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(62);
    for (std::int64_t width : {1, 96, 1025})
        for (std::int64_t T : {1, 2})
            for (std::int64_t pos0 : {0, 17, 126}) {
                const std::int64_t cap = 128, stride = width + 2;
                std::vector<float> cache = rng.vec(std::size_t(cap * width));
                const std::vector<float> src = rng.vec(std::size_t(T * stride));
                Dev dcache(cache), dsrc(src);
                const std::int64_t host_pos[1] = {pos0};
                const std::int64_t* p = cuda().step_scalars(host_pos, 1);
                cuda().write_rows_at(dsrc.get(), stride, T, width, dcache.get(), width, p);
                cpu().write_rows_at(src.data(), stride, T, width, cache.data(), width, host_pos);
                expect_near_cpu(
                    dcache.host(), cache, 0.0, 0.0,
                    "write_rows_at width=" + sz(width) + " T=" + sz(T) + " pos0=" + sz(pos0));
            }
}

// attention_at sizes its split-K launch by max_keys (the cache capacity), not the position: here
// up to 4096 keys of bound for 3..4100 actual ones, so most splits may find no key at all and the
// merge must skip them. The attention tolerance of cuda_hybrid_ops_test (5e-5 relative, floored at
// 0.2 of the largest output: the sum order differs from the CPU's).
TEST(CudaStepOps, AttentionAtMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(63);
    struct Case {
        std::int64_t n_heads, n_kv_heads, head_dim;
    };
    const Case cases[] = {{8, 2, 128}, {4, 4, 64}, {6, 2, 32}, {4, 1, 256}};
    for (const Case& c : cases)
        for (std::int64_t pos0 : {2, 63, 700, 4095})
            for (std::int64_t window : {0, 48})
                for (std::int64_t max_keys : {pos0 + 1, std::int64_t(4096)}) {
                    if (max_keys < pos0 + 1) continue;
                    const std::int64_t T = 1;
                    const std::int64_t qw = c.n_heads * c.head_dim, kvw = c.n_kv_heads * c.head_dim;
                    const std::int64_t L = max_keys;
                    std::vector<float> q = rng.vec(std::size_t(T * qw), -3.0f, 3.0f);
                    std::vector<float> k = rng.vec(std::size_t(L * kvw));
                    std::vector<float> v = rng.vec(std::size_t(L * kvw));
                    std::vector<float> want(std::size_t(T * qw), -7.0f);
                    const float scale = 1.0f / std::sqrt(float(c.head_dim));
                    cpu().attention(q.data(), qw, k.data(), v.data(), kvw, T, pos0, c.n_heads,
                                    c.n_kv_heads, c.head_dim, scale, window, want.data(), qw);
                    Dev dq(q), dk(k), dv(v), dout(std::vector<float>(want.size(), -7.0f));
                    const std::int64_t host_pos[1] = {pos0};
                    const std::int64_t* p = cuda().step_scalars(host_pos, 1);
                    cuda().attention_at(dq.get(), qw, dk.get(), dv.get(), kvw, T, p, max_keys,
                                        c.n_heads, c.n_kv_heads, c.head_dim, scale, window,
                                        dout.get(), qw);
                    expect_near_cpu(dout.host(), want, 5e-5, 0.2,
                                    "attention_at heads=" + sz(c.n_heads) + "/" + sz(c.n_kv_heads) +
                                        " hd=" + sz(c.head_dim) + " pos0=" + sz(pos0) +
                                        " max_keys=" + sz(max_keys) + " window=" + sz(window));
                }
#ifdef STATESCOPE_HAVE_CUDA
    EXPECT_GT(cuda::attention_splits(1, 4095, 8, 2, 0, 132), 1)
        << "max_keys 4096 should take the split-K path";
#endif
}

// E experts bound as the MoE mixer binds them: separate tensors, or one stacked [E, 2F, D] tensor
// whose gate and up halves are rows of one buffer (at offsets that break 16-byte alignment when F D
// is odd: the kernel's scalar path).
struct DevExperts {
    std::vector<TestWeight> host_gate, host_up, host_down;
    std::vector<std::unique_ptr<Buffer>> keep;
    std::vector<const void*> cpu_gate, cpu_up, cpu_down;
    ExpertFfns cpu_ffns, cuda_ffns;
};

DevExperts make_dev_experts(std::int64_t E, std::int64_t D, std::int64_t F, DType dt, bool gated,
                            bool stacked, Activation act, Rng& rng) {
    DevExperts x;
    const std::size_t es = dtype_size(dt);
    std::vector<const void*> dg, du, dd;
    TestWeight gu;
    const void* gu_dev = nullptr;
    if (stacked) {
        gu = make_weight(dt, E * 2 * F, D, rng, -0.3f, 0.3f);
        x.keep.emplace_back();
        gu_dev = cuda().upload(gu.view(), &x.keep.back()).data;
    }
    for (std::int64_t e = 0; e < E; ++e) {
        if (stacked) {
            // host copies of expert e's halves for the CPU op (it reads host pointers)
            for (int half = 0; half < 2; ++half) {
                TestWeight w;
                w.dtype = dt;
                w.rows = F;
                w.cols = D;
                const std::int64_t first = (e * 2 + half) * F * D;
                w.values.assign(gu.values.begin() + first, gu.values.begin() + first + F * D);
                if (dt != DType::F32)
                    w.half.assign(gu.half.begin() + first, gu.half.begin() + first + F * D);
                (half == 0 ? x.host_gate : x.host_up).push_back(std::move(w));
                const auto* base = static_cast<const unsigned char*>(gu_dev);
                (half == 0 ? dg : du).push_back(base + std::size_t(first) * es);
            }
        } else {
            if (gated) x.host_gate.push_back(make_weight(dt, F, D, rng, -0.3f, 0.3f));
            x.host_up.push_back(make_weight(dt, F, D, rng, -0.3f, 0.3f));
        }
        x.host_down.push_back(make_weight(dt, D, F, rng, -0.3f, 0.3f));
    }
    auto up_dev = [&](const TestWeight& w) {
        x.keep.emplace_back();
        return cuda().upload(w.view(), &x.keep.back()).data;
    };
    for (std::int64_t e = 0; e < E; ++e) {
        if (!stacked) {
            if (gated) dg.push_back(up_dev(x.host_gate[e]));
            du.push_back(up_dev(x.host_up[e]));
        }
        dd.push_back(up_dev(x.host_down[e]));
        if (gated) x.cpu_gate.push_back(x.host_gate[e].view().data);
        x.cpu_up.push_back(x.host_up[e].view().data);
        x.cpu_down.push_back(x.host_down[e].view().data);
    }
    auto table = [&](const std::vector<const void*>& ptrs) -> const void* const* {
        if (ptrs.empty()) return nullptr;
        x.keep.push_back(cuda().alloc(ptrs.size() * sizeof(void*)));
        cuda().copy_from_host(ptrs.data(), x.keep.back()->data(), ptrs.size() * sizeof(void*));
        return static_cast<const void* const*>(x.keep.back()->data());
    };
    ExpertFfns base;
    base.dtype = dt;
    base.n_experts = E;
    base.d_model = D;
    base.d_ff = F;
    base.act = act;
    x.cpu_ffns = base;
    x.cpu_ffns.gate = gated ? x.cpu_gate.data() : nullptr;
    x.cpu_ffns.up = x.cpu_up.data();
    x.cpu_ffns.down = x.cpu_down.data();
    x.cuda_ffns = base;
    x.cuda_ffns.gate = gated ? table(dg) : nullptr;
    x.cuda_ffns.up = table(du);
    x.cuda_ffns.down = table(dd);
    return x;
}

// The CUDA kernels accumulate each dot in fp32 (lane-strided, then a warp tree), the CPU op in
// double: ~sqrt(D) eps of the sum of |terms| per dot, through act and the down dot over F. 1e-4
// relative, floored at 0.02 of the largest output (sums of signed terms cancel); an expert mixed
// up, or a weight applied to the wrong expert, moves outputs by their own scale.
TEST(CudaStepOps, MoeExpertsMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(64);
    struct Case {
        std::int64_t D, F, E, k;
        bool gated, stacked;
        Activation act;
    };
    const Case cases[] = {
        {64, 96, 4, 2, true, false, Activation::Silu},      // jamba-like, aligned
        {1000, 777, 6, 3, true, true, Activation::Silu},    // granite-like stacked, odd F
        {257, 131, 5, 2, false, false, Activation::Relu2},  // nemotron-h-like, ungated, odd D
        {4099, 40, 3, 2, true, false, Activation::Gelu},    // D not a multiple of 8
    };
    for (DType dt : {DType::F32, DType::BF16, DType::F16})
        for (const Case& c : cases)
            for (std::int64_t T : {1, 3})
                for (bool accumulate : {false, true}) {
                    DevExperts x =
                        make_dev_experts(c.E, c.D, c.F, dt, c.gated, c.stacked, c.act, rng);
                    const std::int64_t x_stride = c.D + 1;
                    std::vector<float> in = rng.vec(std::size_t(T * x_stride));
                    std::vector<std::int32_t> idx(std::size_t(T * c.k));
                    for (auto& e : idx) e = std::int32_t(rng.integer(0, c.E - 1));
                    if (T > 1) idx[1] = -1;  // skipped by both
                    std::vector<float> w = rng.vec(std::size_t(T * c.k), 0.05f, 1.0f);
                    std::vector<float> out = rng.vec(std::size_t(T * c.D));
                    DevBytes din(in), didx(idx), dw(w), dout(out);
                    Dev dhidden(std::vector<float>(std::size_t(T * c.k * c.F)));
                    std::vector<float> hidden(std::size_t(T * c.k * c.F));
                    cpu().moe_experts(in.data(), x_stride, T, c.k, idx.data(), w.data(), x.cpu_ffns,
                                      hidden.data(), accumulate, out.data());
                    cuda().moe_experts(din.as<float>(), x_stride, T, c.k, didx.as<std::int32_t>(),
                                       dw.as<float>(), x.cuda_ffns, dhidden.get(), accumulate,
                                       dout.as<float>());
                    std::vector<float> got(out.size());
                    cuda().copy_to_host(dout.as<float>(), got.data(), got.size() * sizeof(float));
                    expect_near_cpu(got, out, 1e-4, 0.02,
                                    "moe_experts " + std::string(dtype_name(dt)) + " D=" + sz(c.D) +
                                        " F=" + sz(c.F) + " T=" + sz(T) +
                                        (c.stacked ? " stacked" : "") +
                                        (accumulate ? " +=" : " ="));
                }
}

// One recording of (step_scalars, rope_at, write_rows_at) replayed at three positions: each replay
// must read its own position (a recording that baked the first one in writes the wrong row and
// rotates by the wrong angle).
TEST(CudaStepOps, ReplayReadsEachStepsPosition) {
    STATESCOPE_REQUIRE_CUDA();
    ASSERT_TRUE(cuda().can_record());
    Rng rng(65);
    const std::int64_t heads = 2, hd = 32, width = heads * hd, cap = 64;
    const std::vector<float> inv = inv_freq(hd, 10000.0f);
    const std::vector<float> x0 = rng.vec(std::size_t(width));
    Dev dinv(inv), dx(x0), dcache(std::vector<float>(std::size_t(cap * width), 0.0f));
    // The recorded step: x = x0 (a copy), rotated at the position, appended to the cache there.
    Dev dx0(x0);
    const std::int64_t first[1] = {5};
    cuda().synchronize();
    cuda().record_begin();
    const std::int64_t* p = cuda().step_scalars(first, 1);
    cuda().copy(dx0.get(), dx.get(), std::size_t(width) * sizeof(float));
    cuda().rope_at(dx.get(), width, 1, heads, hd, hd, p, dinv.get());
    cuda().write_rows_at(dx.get(), width, 1, width, dcache.get(), width, p);
    std::unique_ptr<Recording> rec = cuda().record_end();
    ASSERT_NE(rec, nullptr);
    std::vector<float> want(std::size_t(cap * width), 0.0f);
    const std::int32_t no_ids[1] = {0};
    for (std::int64_t pos : {7, 30, 63}) {
        cuda().replay(*rec, no_ids, 0, &pos, 1);
        std::vector<float> row = x0;
        cpu().rope(row.data(), width, 1, heads, hd, hd, pos, inv.data());
        std::copy(row.begin(), row.end(), want.begin() + pos * width);
    }
    expect_near_cpu(dcache.host(), want, 5e-6, 0.05, "three replays of one recording");
}

}  // namespace
}  // namespace statescope::kernels::test
