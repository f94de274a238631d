// CudaBackend: memory, copies, weight upload, the device checks at creation, and the op dispatch
// (prefill matmuls through cuBLASLt, everything else to the kernels of ops.h).
#include "kernels/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels {

std::unique_ptr<Backend> make_cuda_backend(int device) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        throw std::runtime_error(std::string("no usable CUDA device: ") + cudaGetErrorString(e));
    }
    if (count == 0) throw std::runtime_error("no usable CUDA device: the driver sees no GPU");
    if (device < 0 || device >= count)
        throw std::runtime_error("no CUDA device " + std::to_string(device) + " (there are " +
                                 std::to_string(count) + ")");
    return std::make_unique<cuda::CudaBackend>(device);
}

namespace cuda {

namespace {

constexpr std::size_t kLtWorkspaceBytes = 32u << 20;  // cuBLASLt's recommended size on Hopper

void check_lt(cublasStatus_t s, const char* what) {
    if (s != CUBLAS_STATUS_SUCCESS)
        throw std::runtime_error(std::string("cuBLASLt ") + what + " failed (status " +
                                 std::to_string(int(s)) + ")");
}

cudaDataType_t cuda_type(DType t) {
    switch (t) {
        case DType::F32:
            return CUDA_R_32F;
        case DType::BF16:
            return CUDA_R_16BF;
        case DType::F16:
            return CUDA_R_16F;
    }
    return CUDA_R_32F;
}

// The alignment (bytes, up to 256) every row start of a matrix at `p` with rows `ld_bytes` apart
// has.
std::uint32_t alignment(const void* p, std::size_t ld_bytes) {
    std::uint32_t a = 256;
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    while (a > 1 && (addr % a != 0 || ld_bytes % a != 0)) a /= 2;
    return a;
}

std::string mib(std::size_t bytes) {
    return std::to_string((bytes + (1u << 19)) >> 20) + " MiB";
}

}  // namespace

[[noreturn]] void throw_cuda_error(cudaError_t e, const std::string& what) {
    cudaGetLastError();  // clear a sticky-free error so the next call is not blamed for it
    throw std::runtime_error("CUDA error in " + what + ": " + cudaGetErrorString(e) + " (" +
                             cudaGetErrorName(e) + ")");
}

int sm_count() {
    static const int n = [] {
        int device = 0, count = 0;
        check(cudaGetDevice(&device), "cudaGetDevice");
        check(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device),
              "cudaDeviceGetAttribute");
        return std::max(count, 1);
    }();
    return n;
}

bool dependent_launch_enabled() {
    static const bool on = [] {
        const char* env = std::getenv("STATESCOPE_CUDA_PDL");
        if (env != nullptr && std::string(env) == "0") return false;
        int device = 0, major = 0;
        if (cudaGetDevice(&device) != cudaSuccess ||
            cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) !=
                cudaSuccess)
            return false;
        return major >= 9;
    }();
    return on;
}

void MemoryCounter::add(std::size_t n) {
    const std::size_t now = current += n;
    std::size_t p = peak;
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
}

CudaBuffer::CudaBuffer(std::size_t bytes, cudaStream_t stream,
                       std::shared_ptr<MemoryCounter> counter)
    : bytes_(bytes), counter_(std::move(counter)) {
    const cudaError_t e = cudaMalloc(&data_, std::max<std::size_t>(bytes, 1));
    if (e != cudaSuccess) {
        cudaGetLastError();
        std::size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        throw std::runtime_error("out of GPU memory: " + mib(bytes) + " did not fit (" +
                                 mib(free_b) + " free of " + mib(total_b) + "; " +
                                 mib(counter_->current) + " held by this engine)");
    }
    counter_->add(bytes);
    if (bytes != 0) check(cudaMemsetAsync(data_, 0, bytes, stream), "cudaMemsetAsync");
}

CudaBuffer::~CudaBuffer() {
    cudaFree(data_);
    counter_->sub(bytes_);
}

CudaBackend::CudaBackend(int device) : device_(device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    const cudaError_t probe = probe_kernel_image();
    if (probe != cudaSuccess) {
        cudaGetLastError();
        throw std::runtime_error(std::string("CUDA device ") + std::to_string(device) + " (" +
                                 prop.name + ", sm_" + std::to_string(prop.major) +
                                 std::to_string(prop.minor) + ") cannot run this build's kernels " +
                                 "(built for sm " + STATESCOPE_CUDA_ARCHS +
                                 "): " + cudaGetErrorString(probe));
    }
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    info_ = std::string(prop.name) + ", sm_" + std::to_string(prop.major) +
            std::to_string(prop.minor) + ", " + mib(prop.totalGlobalMem) + ", driver CUDA " +
            std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10) +
            ", runtime " + std::to_string(runtime / 1000) + "." +
            std::to_string(runtime % 1000 / 10) +
            (dependent_launch_enabled() ? ", dependent launch on" : ", dependent launch off");
    sm_count_ = prop.multiProcessorCount;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check_lt(cublasLtCreate(&lt_), "create");
    lt_workspace_ = alloc(kLtWorkspaceBytes);
    check(cudaMallocHost(&ids_pinned_, kPinnedIds * sizeof(std::int32_t)), "cudaMallocHost");
    check(cudaMallocHost(&scalars_pinned_, kMaxStepScalars * sizeof(std::int64_t)),
          "cudaMallocHost");
    step_scalars_ = alloc(kMaxStepScalars * sizeof(std::int64_t));
}

CudaBackend::~CudaBackend() {
    cudaStreamSynchronize(stream_);
    lt_workspace_.reset();
    ids_.reset();
    narrow_x_.reset();
    scan_ws_.reset();
    row_ptrs_.reset();
    step_scalars_.reset();
    if (ids_pinned_ != nullptr) cudaFreeHost(ids_pinned_);
    if (scalars_pinned_ != nullptr) cudaFreeHost(scalars_pinned_);
    if (row_ptrs_pinned_ != nullptr) cudaFreeHost(row_ptrs_pinned_);
    if (lt_ != nullptr) cublasLtDestroy(lt_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void CudaBackend::synchronize() {
    check(cudaStreamSynchronize(stream_), "synchronize");
    row_ptrs_used_ = 0;  // every staged copy has run
}

namespace {
struct CudaRecording final : Recording {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    ~CudaRecording() override {
        if (exec != nullptr) cudaGraphExecDestroy(exec);
        if (graph != nullptr) cudaGraphDestroy(graph);
    }
};
}  // namespace

void CudaBackend::record_begin() {
    // Recording writes the pinned staging areas (ids, step scalars) at record time: a replay still
    // queued may be reading them.
    synchronize();
    check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "record_begin");
    recording_ = true;
}

std::unique_ptr<Recording> CudaBackend::record_end() {
    recording_ = false;
    auto rec = std::make_unique<CudaRecording>();
    if (cudaStreamEndCapture(stream_, &rec->graph) != cudaSuccess ||
        cudaGraphInstantiate(&rec->exec, rec->graph, 0) != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
    }
    return rec;
}

void CudaBackend::replay(const Recording& r, const std::int32_t* ids, std::int64_t T,
                         const std::int64_t* scalars, std::int64_t n_scalars) {
    const auto& rec = static_cast<const CudaRecording&>(r);
    if (T > kPinnedIds || n_scalars > kMaxStepScalars)
        throw std::runtime_error("CUDA replay: more ids or step scalars than were staged");
    // The previous replay's copies out of the pinned areas must be done before they are
    // overwritten.
    synchronize();
    std::memcpy(ids_pinned_, ids, std::size_t(T) * sizeof(std::int32_t));
    if (n_scalars > 0)
        std::memcpy(scalars_pinned_, scalars, std::size_t(n_scalars) * sizeof(std::int64_t));
    check(cudaGraphLaunch(rec.exec, stream_), "replay");
}

std::unique_ptr<Buffer> CudaBackend::alloc(std::size_t bytes) {
    return std::make_unique<CudaBuffer>(bytes, stream_, counter_);
}

void CudaBackend::copy_to_host(const void* src, void* host_dst, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy_to_host");
    check(cudaStreamSynchronize(stream_), "copy_to_host");
    row_ptrs_used_ = 0;  // every staged copy has run
}

// From pageable memory the copy is staged before cudaMemcpyAsync returns, so the caller may free
// host_src at once; the stream keeps the order with the ops around it.
void CudaBackend::copy_from_host(const void* host_src, void* dst, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_), "copy_from_host");
}

void CudaBackend::copy(const void* src, void* dst, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
}

Weight CudaBackend::upload(const Weight& host, std::unique_ptr<Buffer>* keep) {
    const std::size_t bytes = std::size_t(host.rows * host.cols) * dtype_size(host.dtype);
    auto buf = alloc(bytes);
    copy_from_host(host.data, buf->data(), bytes);
    Weight w = host;
    w.data = buf->data();
    if (keep == nullptr)
        throw std::logic_error("CudaBackend::upload needs somewhere to keep the copy");
    *keep = std::move(buf);
    return w;
}

void* CudaBackend::scratch(std::unique_ptr<Buffer>& buf, std::size_t bytes) {
    if (!buf || buf->bytes() < bytes) {
        // A recorded step cannot wait or allocate: the step before it (run op by op, same sizes)
        // grows the scratch, so this is a recording of sizes never run.
        if (recording_) throw std::runtime_error("CUDA recording: a scratch buffer would grow");
        if (buf) synchronize();  // the old buffer may still be read by queued kernels
        buf = alloc(bytes + bytes / 4);
        ++scratch_generation_;
    }
    return buf->data();
}

void CudaBackend::embedding(const Weight& table, const std::int32_t* ids, std::int64_t T,
                            float* out) {
    if (T == 0) return;
    auto* dev_ids =
        static_cast<std::int32_t*>(scratch(ids_, std::size_t(T) * sizeof(std::int32_t)));
    if (recording_) {
        // The recorded copy reads the pinned staging area when replayed (replay() fills it).
        if (T > kPinnedIds) throw std::runtime_error("CUDA recording: too many ids for one step");
        std::memcpy(ids_pinned_, ids, std::size_t(T) * sizeof(std::int32_t));
        check(cudaMemcpyAsync(dev_ids, ids_pinned_, std::size_t(T) * sizeof(std::int32_t),
                              cudaMemcpyHostToDevice, stream_),
              "embedding ids");
    } else {
        // Pageable: staged before the call returns, so back-to-back calls cannot overwrite it.
        copy_from_host(ids, dev_ids, std::size_t(T) * sizeof(std::int32_t));
    }
    cuda::embedding(table, dev_ids, T, out, stream_);
}

// y[t, o] = sum_i x[t, i] * W[o, i] + bias[o]. Few rows: the bandwidth-bound GEMV (fp32 x). More:
// cuBLASLt; with BF16/F16 weights x is rounded to the weight dtype for the tensor cores (fp32
// accumulation and output), the usual mixed-precision prefill; F32 weights stay full fp32 (no
// TF32), which the golden tests' 1e-4 needs.
void CudaBackend::matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                         const float* bias, float* y, std::int64_t y_stride) {
    if (T == 0 || W.rows == 0) return;
    if (T <= kGemvMaxRows || W.cols == 0) {
        gemv(x, x_stride, T, W, bias, y, y_stride, stream_);
        return;
    }
    lt_matmul(x, x_stride, T, W, y, y_stride);
    add_bias_rows(y, y_stride, T, W.rows, bias, stream_);
}

void CudaBackend::lt_matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                            float* y, std::int64_t y_stride) {
    const std::int64_t m = W.rows, k = W.cols, n = T;
    const cudaDataType_t ab = cuda_type(W.dtype);
    const void* b = x;
    std::int64_t ldb = x_stride;
    if (W.dtype != DType::F32) {
        void* h = scratch(narrow_x_, std::size_t(T * k) * 2);
        narrow_rows(x, x_stride, T, k, W.dtype, h, stream_);
        b = h;
        ldb = k;
    }
    const std::size_t es = dtype_size(W.dtype);
    const std::uint32_t align_a = alignment(W.data, std::size_t(k) * es);
    const std::uint32_t align_b = alignment(b, std::size_t(ldb) * es);
    const std::uint32_t align_c = alignment(y, std::size_t(y_stride) * 4);

    // Column-major view: D[m, n] (ld y_stride) = W^T-as-stored [k, m] transposed x B [k, n].
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
    check_lt(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "desc");
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta));
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb));
    check_lt(cublasLtMatrixLayoutCreate(&la, ab, k, m, k), "layout A");
    check_lt(cublasLtMatrixLayoutCreate(&lb, ab, k, n, ldb), "layout B");
    check_lt(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, y_stride), "layout C");
    const AlgoKey key{int(W.dtype),
                      m,
                      n,
                      k,
                      ldb,
                      y_stride,
                      std::int64_t(align_a) << 32 | std::int64_t(align_b) << 16 | align_c,
                      0};
    auto it = algos_.find(key);
    if (it == algos_.end()) {
        cublasLtMatmulPreference_t pref = nullptr;
        check_lt(cublasLtMatmulPreferenceCreate(&pref), "preference");
        const std::size_t ws = kLtWorkspaceBytes;
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                             sizeof(ws));
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                             &align_a, sizeof(align_a));
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                             &align_b, sizeof(align_b));
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                             &align_c, sizeof(align_c));
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                             &align_c, sizeof(align_c));
        cublasLtMatmulHeuristicResult_t result{};
        int found = 0;
        const cublasStatus_t s =
            cublasLtMatmulAlgoGetHeuristic(lt_, op, la, lb, lc, lc, pref, 1, &result, &found);
        cublasLtMatmulPreferenceDestroy(pref);
        if (s != CUBLAS_STATUS_SUCCESS || found == 0) {
            cublasLtMatrixLayoutDestroy(la);
            cublasLtMatrixLayoutDestroy(lb);
            cublasLtMatrixLayoutDestroy(lc);
            cublasLtMatmulDescDestroy(op);
            throw std::runtime_error("cuBLASLt has no algorithm for a " + std::to_string(m) + "x" +
                                     std::to_string(k) + " " + std::string(dtype_name(W.dtype)) +
                                     " weight times " + std::to_string(n) + " rows");
        }
        it = algos_.emplace(key, result.algo).first;
    }
    const float alpha = 1.0f, beta = 0.0f;
    const cublasStatus_t s =
        cublasLtMatmul(lt_, op, &alpha, W.data, la, b, lb, &beta, y, lc, y, lc, &it->second,
                       lt_workspace_->data(), kLtWorkspaceBytes, stream_);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(op);
    check_lt(s, "matmul");
}

void CudaBackend::rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
                          const float* weight, float eps, float* y, std::int64_t y_stride) {
    cuda::rmsnorm(x, x_stride, T, D, weight, eps, y, y_stride, stream_);
}
void CudaBackend::matmul_softplus(const float* x, std::int64_t x_stride, std::int64_t T,
                                  const Weight& W, const float* bias, float lo, float hi,
                                  float* delta) {
    if (T <= kGemvMaxRows && W.cols > 0) {
        gemv_softplus(x, x_stride, T, W, bias, lo, hi, delta, stream_);
        return;
    }
    Backend::matmul_softplus(x, x_stride, T, W, bias, lo, hi, delta);
}
// The conv step rides in the T = 1 GEMV's epilogue (one launch instead of two). The GEMV takes
// every one-token matmul with columns; K > 32 (no checkpoint has more than 4) runs unfused.
void CudaBackend::matmul_conv1d_step(const float* x, const Weight& W, const float* bias, float* y,
                                     std::int64_t conv_off, std::int64_t C, std::int64_t K,
                                     const float* conv_w, const float* conv_bias, bool silu,
                                     float* conv_state, float* conv_y) {
    if (conv_off < 0 || C < 0 || conv_off + C > W.rows)
        throw std::invalid_argument("matmul_conv1d_step: conv channels [" +
                                    std::to_string(conv_off) + ", " + std::to_string(conv_off + C) +
                                    ") are not within the " + std::to_string(W.rows) + " outputs");
    if (W.rows > 0 && W.cols > 0 && K >= 1 && K <= kConvStepMaxK) {
        gemv_conv1d_step(x, W, bias, y, conv_off, C, K, conv_w, conv_bias, silu, conv_state, conv_y,
                         stream_);
        return;
    }
    Backend::matmul_conv1d_step(x, W, bias, y, conv_off, C, K, conv_w, conv_bias, silu, conv_state,
                                conv_y);
}
// dt_proj, softplus and the scan step in one kernel (one launch instead of two).
void CudaBackend::softplus_ssd_step(const float* dt, const float* dt_bias, float lo, float hi,
                                    const float* x, std::int64_t x_stride, const float* A,
                                    const float* B, const float* C, std::int64_t bc_stride,
                                    const float* D, std::int64_t H, std::int64_t P, std::int64_t G,
                                    std::int64_t N, float* state, float* delta, float* y) {
    if (!cuda::softplus_ssd_step(dt, dt_bias, lo, hi, x, x_stride, A, B, C, bc_stride, D, H, P, G,
                                 N, state, delta, y, stream_))
        Backend::softplus_ssd_step(dt, dt_bias, lo, hi, x, x_stride, A, B, C, bc_stride, D, H, P, G,
                                   N, state, delta, y);
}
void CudaBackend::matmul_softplus_scan_step(const float* dt, const Weight& W, const float* dt_bias,
                                            float lo, float hi, const float* x, const float* A,
                                            const float* B, const float* C, const float* D,
                                            const float* z, std::int64_t N, float* state,
                                            float* delta, float* y) {
    if (softplus_scan_step_fits(W, N)) {
        softplus_scan_step(dt, W, dt_bias, lo, hi, x, A, B, C, D, z, N, state, delta, y, stream_);
        return;
    }
    Backend::matmul_softplus_scan_step(dt, W, dt_bias, lo, hi, x, A, B, C, D, z, N, state, delta,
                                       y);
}
void CudaBackend::add(float* y, const float* x, std::int64_t n) {
    cuda::add(y, x, n, stream_);
}
void CudaBackend::add_rmsnorm(float* h, const float* x, float s, std::int64_t T, std::int64_t D,
                              const float* weight, float eps, float* y) {
    cuda::add_rmsnorm(h, x, s, T, D, weight, eps, y, stream_);
}
void CudaBackend::causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T,
                                std::int64_t C, std::int64_t K, const float* w, const float* bias,
                                bool silu, float* conv_state, float* y) {
    cuda::causal_conv1d(x, x_stride, T, C, K, w, bias, silu, conv_state, y, stream_);
}
void CudaBackend::softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
                           const float* bias, float lo, float hi, float* delta) {
    cuda::softplus(dt, dt_stride, T, C, bias, lo, hi, delta, stream_);
}
void CudaBackend::selective_scan(const float* x, const float* delta, const float* A, const float* B,
                                 const float* C, std::int64_t bc_stride, const float* D,
                                 const float* z, std::int64_t z_stride, std::int64_t T,
                                 std::int64_t I, std::int64_t N, float* state, float* y) {
    const std::size_t ws = cuda::selective_scan_scratch_bytes(T, I, N);
    float* scratch_f = ws > 0 ? static_cast<float*>(scratch(scan_ws_, ws)) : nullptr;
    cuda::selective_scan(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, state, y, scratch_f,
                         stream_);
}
void CudaBackend::ssd_scan(const float* x, std::int64_t x_stride, const float* delta,
                           const float* A, const float* B, const float* C, std::int64_t bc_stride,
                           const float* D, std::int64_t T, std::int64_t H, std::int64_t P,
                           std::int64_t G, std::int64_t N, float* state, float* y) {
    const std::size_t ws = cuda::ssd_scan_scratch_bytes(T, H, P, N);
    float* scratch_f = ws > 0 ? static_cast<float*>(scratch(scan_ws_, ws)) : nullptr;
    cuda::ssd_scan(x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, state, y, scratch_f,
                   stream_);
}
float* const* CudaBackend::stage_row_ptrs(float* const* host, std::int64_t rows) {
    // Not recordable: a replay would read the pointers staged at record time.
    if (recording_)
        throw std::runtime_error("CUDA recording: the batched decode step is not recorded");
    if (rows > kRowPtrs)
        throw std::runtime_error("CUDA batched step: " + std::to_string(rows) +
                                 " sequences in one call, more than the " +
                                 std::to_string(kRowPtrs) + " it stages");
    if (row_ptrs_pinned_ == nullptr) {
        check(cudaMallocHost(&row_ptrs_pinned_, kRowPtrs * sizeof(float*)), "cudaMallocHost");
        row_ptrs_ = alloc(kRowPtrs * sizeof(float*));
    }
    if (row_ptrs_used_ + rows > kRowPtrs) synchronize();  // resets row_ptrs_used_
    float** pinned = row_ptrs_pinned_ + row_ptrs_used_;
    float** dev = static_cast<float**>(row_ptrs_->data()) + row_ptrs_used_;
    std::memcpy(pinned, host, std::size_t(rows) * sizeof(float*));
    check(cudaMemcpyAsync(dev, pinned, std::size_t(rows) * sizeof(float*), cudaMemcpyHostToDevice,
                          stream_),
          "row state pointers");
    row_ptrs_used_ += rows;
    return dev;
}
// One launch per op for all rows: each kernel's grid.y is the row, reading its state through the
// staged pointer array.
void CudaBackend::causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows,
                                     std::int64_t C, std::int64_t K, const float* w,
                                     const float* bias, bool silu, float* const* conv_states,
                                     float* y) {
    if (rows == 0) return;
    cuda::causal_conv1d_rows(x, x_stride, rows, C, K, w, bias, silu,
                             stage_row_ptrs(conv_states, rows), y, stream_);
}
void CudaBackend::selective_scan_rows(const float* x, const float* delta, const float* A,
                                      const float* B, const float* C, std::int64_t bc_stride,
                                      const float* D, const float* z, std::int64_t z_stride,
                                      std::int64_t rows, std::int64_t I, std::int64_t N,
                                      float* const* states, float* y) {
    if (rows == 0) return;
    cuda::selective_scan_rows(x, delta, A, B, C, bc_stride, D, z, z_stride, rows, I, N,
                              stage_row_ptrs(states, rows), y, stream_);
}
void CudaBackend::ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta,
                                const float* A, const float* B, const float* C,
                                std::int64_t bc_stride, const float* D, std::int64_t rows,
                                std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
                                float* const* states, float* y) {
    if (rows == 0) return;
    bool aligned16 = true;
    for (std::int64_t r = 0; r < rows; ++r)
        aligned16 = aligned16 && reinterpret_cast<std::uintptr_t>(states[r]) % 16 == 0;
    cuda::ssd_scan_rows(x, x_stride, delta, A, B, C, bc_stride, D, rows, H, P, G, N,
                        stage_row_ptrs(states, rows), aligned16, y, stream_);
}
void CudaBackend::gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride,
                                std::int64_t T, std::int64_t I, std::int64_t group_size,
                                const float* weight, float eps, bool norm_before_gate, float* out) {
    cuda::gated_rmsnorm(y, z, z_stride, T, I, group_size, weight, eps, norm_before_gate, out,
                        stream_);
}

void CudaBackend::scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s) {
    cuda::scale(x, x_stride, T, n, s, stream_);
}
void CudaBackend::add_scaled(float* y, const float* x, float s, std::int64_t n) {
    cuda::add_scaled(y, x, s, n, stream_);
}
void CudaBackend::glu(const float* gate, std::int64_t gate_stride, const float* up,
                      std::int64_t up_stride, std::int64_t T, std::int64_t F, Activation act,
                      float* out) {
    cuda::glu(gate, gate_stride, up, up_stride, T, F, act, out, stream_);
}
void CudaBackend::rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                       std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0,
                       const float* inv_freq) {
    cuda::rope(x, x_stride, T, n_heads, head_dim, rotary_dim, pos0, inv_freq, stream_);
}
// Split-K partials live in a scratch buffer that only grows (with a sync) when a call needs more
// than any before; decode sizes stop growing it after the first step.
void CudaBackend::attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
                            std::int64_t kv_stride, std::int64_t T, std::int64_t pos0,
                            std::int64_t n_heads, std::int64_t n_kv_heads, std::int64_t head_dim,
                            float scale, std::int64_t window, float* out, std::int64_t out_stride) {
    if (T == 0) return;
    const SplitK sk = attention_split_k(T, pos0, n_heads, n_kv_heads, head_dim, window);
    cuda::attention(q, q_stride, k, v, kv_stride, T, pos0, n_heads, n_kv_heads, head_dim, scale,
                    window, out, out_stride, sk.splits, sk.partials, stream_);
}
CudaBackend::SplitK CudaBackend::attention_split_k(std::int64_t T, std::int64_t pos0,
                                                   std::int64_t n_heads, std::int64_t n_kv_heads,
                                                   std::int64_t head_dim, std::int64_t window) {
    SplitK sk;
    sk.splits = attention_splits(T, pos0, n_heads, n_kv_heads, window, sm_count_);
    if (sk.splits > 1)
        sk.partials = static_cast<float*>(
            scratch(attn_partials_,
                    attention_partial_floats(T, n_heads, head_dim, sk.splits) * sizeof(float)));
    return sk;
}
void CudaBackend::moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
                            RouterScoring scoring, const float* correction_bias,
                            std::int64_t n_group, std::int64_t topk_group, bool normalize,
                            float route_scale, std::int32_t* experts, float* weights) {
    cuda::moe_route(logits, T, E, k, scoring, correction_bias, n_group, topk_group, normalize,
                    route_scale, experts, weights, stream_);
}
void CudaBackend::argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                         std::int32_t* out) {
    cuda::argmax_rows(x, x_stride, T, V, out, stream_);
}
// One row at a time: each row is a sort of V keys, which fills the device by itself.
void CudaBackend::sample(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                         const SampleParams& p, const SamplePenalties& pen, const double* u,
                         std::int32_t* out) {
    if (T == 0 || V == 0) return;
    void* ws = scratch(sample_ws_, cuda::sample_scratch_bytes(V));
    for (std::int64_t t = 0; t < T; ++t) {
        std::int64_t n = 0;
        const std::int32_t* pen_dev = nullptr;
        if (pen.offsets != nullptr) {
            const std::int64_t b = pen.offsets[t];
            n = pen.offsets[t + 1] - b;
            if (n > 0) {
                // [ids..., counts...]: from pageable memory, staged before the copy returns
                pen_host_.assign(pen.ids + b, pen.ids + b + n);
                pen_host_.insert(pen_host_.end(), pen.counts + b, pen.counts + b + n);
                auto* dev = static_cast<std::int32_t*>(
                    scratch(sample_pen_, pen_host_.size() * sizeof(std::int32_t)));
                copy_from_host(pen_host_.data(), dev, pen_host_.size() * sizeof(std::int32_t));
                pen_dev = dev;
            }
        }
        cuda::sample_row(x + t * x_stride, V, p, pen_dev, n, u[t], ws, sample_ws_->bytes(), out + t,
                         stream_);
    }
}

// Recording: a copy from the pinned area, which replay() refills (as the embedding's ids). Not
// recording: from pageable memory, staged before the call returns, so back-to-back steps cannot
// overwrite each other's values.
const std::int64_t* CudaBackend::step_scalars(const std::int64_t* host, std::int64_t n) {
    if (n < 0 || n > kMaxStepScalars)
        throw std::runtime_error("step_scalars: " + std::to_string(n) + " values, at most " +
                                 std::to_string(kMaxStepScalars));
    auto* dev = static_cast<std::int64_t*>(step_scalars_->data());
    const std::size_t bytes = std::size_t(n) * sizeof(std::int64_t);
    if (recording_) {
        std::memcpy(scalars_pinned_, host, bytes);
        if (n > 0)
            check(cudaMemcpyAsync(dev, scalars_pinned_, bytes, cudaMemcpyHostToDevice, stream_),
                  "step scalars");
    } else {
        copy_from_host(host, dev, bytes);
    }
    return dev;
}
void CudaBackend::rope_at(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                          std::int64_t head_dim, std::int64_t rotary_dim, const std::int64_t* pos0,
                          const float* inv_freq) {
    cuda::rope(x, x_stride, T, n_heads, head_dim, rotary_dim, 0, inv_freq, stream_, pos0);
}
void CudaBackend::write_rows_at(const float* src, std::int64_t src_stride, std::int64_t T,
                                std::int64_t width, float* dst, std::int64_t dst_stride,
                                const std::int64_t* pos0) {
    cuda::write_rows_at(src, src_stride, T, width, dst, dst_stride, pos0, stream_);
}
// The splits (and the partials they need) are those of the largest position allowed, max_keys -
// T: fixed for the life of a recording, which lasts until the KV cache grows.
void CudaBackend::attention_at(const float* q, std::int64_t q_stride, const float* k,
                               const float* v, std::int64_t kv_stride, std::int64_t T,
                               const std::int64_t* pos0, std::int64_t max_keys,
                               std::int64_t n_heads, std::int64_t n_kv_heads, std::int64_t head_dim,
                               float scale, std::int64_t window, float* out,
                               std::int64_t out_stride) {
    if (T == 0) return;
    const std::int64_t most_pos = std::max<std::int64_t>(max_keys - T, 0);
    const SplitK sk = attention_split_k(T, most_pos, n_heads, n_kv_heads, head_dim, window);
    cuda::attention(q, q_stride, k, v, kv_stride, T, most_pos, n_heads, n_kv_heads, head_dim, scale,
                    window, out, out_stride, sk.splits, sk.partials, stream_, pos0);
}
void CudaBackend::moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                              const std::int32_t* experts, const float* weights,
                              const ExpertFfns& ffn, float* hidden, bool accumulate, float* out) {
    cuda::moe_experts(x, x_stride, T, k, experts, weights, ffn, hidden, accumulate, out, stream_);
}

}  // namespace cuda
}  // namespace statescope::kernels
