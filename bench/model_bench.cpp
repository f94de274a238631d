// statescope-bench-model: prefill and batch-1 decode tokens/s of a whole model on a backend, with
// the memory-bandwidth floor measured in the same run (docs/PERFORMANCE-ANCHORS.md §5).
//
//   statescope-bench-model --shape mamba-130m --dtype bf16 [--prompt 512] [--decode 128] [--repeats
//   3]
//                          [--backend cpu] [--dir /tmp/ckpt] [--out result.json]
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "bench/random_checkpoint.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

using namespace statescope;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Streaming read bandwidth of this machine now (GB/s), all threads, best of 5 over 512 MB.
double measure_read_bandwidth() {
    // Integer sums vectorize without -ffast-math (a float reduction would be latency-bound, not
    // memory-bound).
    const std::size_t n = (512u << 20) / sizeof(std::uint32_t);
    std::vector<std::uint32_t> a(n);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i)
        a[i] = std::uint32_t(i);  // first touch by the threads that read it
    double best = 0;
    for (int r = 0; r < 5; ++r) {
        const auto t0 = Clock::now();
        std::uint32_t s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
        for (std::size_t i = 0; i < n; ++i) s += a[i];
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        if (s == 42) std::cerr << "";  // keeps the loop
        best = std::max(best, double(n * sizeof(std::uint32_t)) / dt / 1e9);
    }
    return best;
}

std::string cpu_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"prefill and decode tokens/s of a random checkpoint at a public shape"};
    std::string shape_name = "mamba-130m", dtype_name = "bf16", backend_name = "cpu", dir, out;
    std::int64_t prompt = 512, decode = 128;
    int repeats = 3;
    app.add_option("--shape", shape_name, "mamba-130m | mamba-370m | mamba2-130m | mamba2-370m");
    app.add_option("--dtype", dtype_name, "fp32 | bf16 | fp16 weights");
    app.add_option("--prompt", prompt, "prefill length");
    app.add_option("--decode", decode, "decode steps");
    app.add_option("--repeats", repeats, "runs; the median is reported");
    app.add_option("--backend", backend_name, "cpu");
    app.add_option("--dir", dir,
                   "where to write the checkpoint (default: a temp folder, removed after)");
    app.add_option("--out", out, "append the result as one JSON line to this file");
    CLI11_PARSE(app, argc, argv);
    try {
        const StDType dtype = dtype_name == "fp32"   ? StDType::F32
                              : dtype_name == "fp16" ? StDType::F16
                                                     : StDType::BF16;
        const auto shape = bench::shape_by_name(shape_name);
        const bool temp = dir.empty();
        const std::filesystem::path ckpt =
            temp ? std::filesystem::temp_directory_path() /
                       ("statescope-bench-" + shape_name + "-" + dtype_name)
                 : std::filesystem::path(dir);
        const std::int64_t params = bench::write_random_checkpoint(ckpt, shape, dtype, 1234);
        auto backend = make_backend(backend_name);
        auto model = Model::load(ckpt, *backend);
        const double weight_bytes = double(model->weights().total_bytes());

        std::vector<std::int32_t> ids(static_cast<std::size_t>(prompt), 0);
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t((i * 7919 + 13) % 50000);
        std::vector<double> prefill_tps, decode_tps;
        std::size_t state_bytes = 0;
        for (int r = 0; r < repeats + 1;
             ++r) {  // the first run warms caches and page-ins; not counted
            Sequence seq(*model);
            state_bytes = seq.state_bytes();
            std::vector<float> logits;
            const auto t0 = Clock::now();
            model->forward(seq, ids, LogitRows::Last, &logits);
            const auto t1 = Clock::now();
            std::int32_t next = argmax(logits);
            for (std::int64_t k = 0; k < decode; ++k) {
                const std::int32_t one[1] = {next};
                model->forward(seq, one, LogitRows::Last, &logits);
                next = argmax(logits);
            }
            const auto t2 = Clock::now();
            if (r == 0) continue;
            prefill_tps.push_back(double(prompt) / std::chrono::duration<double>(t1 - t0).count());
            decode_tps.push_back(double(decode) / std::chrono::duration<double>(t2 - t1).count());
        }
        model.reset();
        if (temp) std::filesystem::remove_all(ckpt);
        const double bw = measure_read_bandwidth();
        // Decode floor: every weight byte read once per token plus the state read and written
        // (fp32).
        const double floor_tps = bw * 1e9 / (weight_bytes + 2.0 * double(state_bytes));
        const double dec = median(decode_tps);
        nlohmann::json result = {
            {"shape", shape_name},
            {"model_type", shape.model_type},
            {"weights", dtype_name},
            {"params", params},
            {"weight_bytes", weight_bytes},
            {"state_bytes", state_bytes},
            {"backend", backend->name()},
            {"threads", omp_get_max_threads()},
            {"cpu", cpu_name()},
            {"prompt_tokens", prompt},
            {"decode_steps", decode},
            {"repeats", repeats},
            {"prefill_tokens_per_s", median(prefill_tps)},
            {"decode_tokens_per_s", dec},
            {"read_bandwidth_gb_s", bw},
            {"decode_floor_tokens_per_s", floor_tps},
            {"decode_fraction_of_floor", dec / floor_tps},
        };
        std::cout << result.dump(2) << "\n";
        if (!out.empty()) std::ofstream(out, std::ios::app) << result.dump() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "statescope-bench-model: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
