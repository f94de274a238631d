// statescope-bench-model: prefill and decode tokens/s of a whole model on a backend, with the
// memory-bandwidth floor measured in the same run (docs/PERFORMANCE-ANCHORS.md §5).
//
//   statescope-bench-model --shape mamba-130m --dtype bf16 [--prompt 512 [--prompt 4096 ...]]
//                          [--decode 128] [--batch 1] [--repeats 3] [--backend cpu|cuda]
//                          [--dir /tmp/ckpt [--reuse]] [--commit SHA] [--out result.jsonl]
//                          [--sampler greedy|device|host]
// Prefill is timed for each --prompt (TTFT: from the call to the first token's logits on the host);
// decode continues the first prompt. With --batch B > 1, B - 1 more sequences are prefilled
// (untimed, each with its own random prompt of the first --prompt's length, one by one) and decode
// times Model::forward_batch_argmax steps of all B together. On CUDA the floor is the H200's HBM
// bandwidth from PERFORMANCE-ANCHORS.md §5 (4.8 TB/s datasheet, 4.3 TB/s measured) instead of a
// measured one. --sampler picks how each decoded token is chosen (batch 1): greedy (the argmax on
// the backend, one id back), device (temperature 0.8, top-k 40, top-p 0.95, repetition penalty 1.1
// over the last 64 tokens, drawn by the backend: one id back), host (the same settings drawn on the
// host from the copied [V] row: what sampled decoding cost before the backend drew).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <thread>

#include "bench/bench_support.h"
#include "bench/random_checkpoint.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sampler.h"
#include "core/runtime/sequence.h"

using namespace statescope;
using Clock = std::chrono::steady_clock;
using bench::cpu_name, bench::median;

namespace {

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

// Prefills batch - 1 more sequences next to `first` (each its own random prompt of `prompt`
// tokens, one by one, untimed), then times `steps` greedy batched decode steps of all of them:
// forward_batch_argmax, B ids to the host per step. Returns tokens/s of all rows together.
double decode_batch(Model& model, Sequence& first, std::int32_t first_next, std::int64_t prompt,
                    std::int64_t batch, std::int64_t steps) {
    std::vector<std::unique_ptr<Sequence>> others;
    std::vector<Sequence*> seqs = {&first};
    std::vector<std::int32_t> next = {first_next};
    std::mt19937 rng(static_cast<std::uint32_t>(batch));
    const auto vocab = std::int32_t(std::min<std::int64_t>(model.spec().vocab_size, 50000));
    std::uniform_int_distribution<std::int32_t> token(0, vocab - 1);
    for (std::int64_t b = 1; b < batch; ++b) {
        std::vector<std::int32_t> ids(static_cast<std::size_t>(prompt));
        for (auto& t : ids) t = token(rng);
        others.push_back(std::make_unique<Sequence>(model));
        std::vector<float> logits;
        model.prefill(*others.back(), ids, 0, {}, &logits);
        seqs.push_back(others.back().get());
        next.push_back(argmax(logits));
    }
    model.backend().synchronize();
    const auto t0 = Clock::now();
    for (std::int64_t k = 0; k < steps; ++k) model.forward_batch_argmax(seqs, next, next);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    return double(batch * steps) / s;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"prefill and decode tokens/s of a random checkpoint at a public shape"};
    std::string shape_name = "mamba-130m", dtype_name = "bf16", backend_name = "cpu", dir, out;
    std::vector<std::int64_t> prompts;
    std::int64_t decode = 128, batch = 1;
    int repeats = 3;
    std::string commit = "unknown";
    app.add_option(
        "--shape", shape_name,
        "mamba-130m | mamba-370m | mamba-1.4b | mamba-2.8b | mamba2-130m | mamba2-370m | "
        "mamba2-1.3b | mamba2-2.7b | llama-130m | nemotron-h-8b | nemotron-h-tiny-bench");
    app.add_option("--dtype", dtype_name, "fp32 | bf16 | fp16 weights");
    app.add_option("--prompt", prompts, "prefill length (repeat the flag for several)");
    app.add_option("--decode", decode, "decode steps");
    app.add_option("--batch", batch,
                   "sequences decoding together (one forward_batch call per step); 1: the "
                   "single-sequence decode step")
        ->check(CLI::PositiveNumber);
    app.add_option("--repeats", repeats, "runs; the median is reported");
    app.add_option("--backend", backend_name, "cpu | cuda");
    app.add_option("--commit", commit, "the commit the binary was built from (recorded)");
    app.add_option("--dir", dir,
                   "where to write the checkpoint (default: a temp folder, removed after)");
    app.add_option("--out", out, "append the result as one JSON line to this file");
    std::int64_t prefill_chunk = 0;
    app.add_option("--prefill-chunk", prefill_chunk,
                   "prefill in pieces of this many tokens, as the studio and the CLI do (their "
                   "default is 512; it bounds the work buffers and so the peak memory); 0: the "
                   "whole prompt in one forward call");
    std::string sampler_name = "greedy";
    app.add_option("--sampler", sampler_name, "greedy | device | host (batch 1 decode)")
        ->check(CLI::IsMember({"greedy", "device", "host"}));
    bool reuse = false;
    app.add_flag("--reuse", reuse,
                 "with --dir: use the checkpoint a previous run wrote there (same shape and dtype; "
                 "it keeps its parameter count in statescope-bench-params) instead of writing it");
    CLI11_PARSE(app, argc, argv);
    SamplerSettings sampled;
    if (sampler_name != "greedy") {
        sampled.temperature = 0.8f;
        sampled.top_k = 40;
        sampled.top_p = 0.95f;
        sampled.repetition_penalty = 1.1f;
        sampled.penalty_last_n = 64;
        sampled.seed = 1;
    }
    if (prompts.empty()) prompts.push_back(512);
    const std::string command = bench::command_line(argc, argv);
    try {
        const auto shape = bench::shape_by_name(shape_name);
        const bool temp = dir.empty();
        const std::filesystem::path ckpt =
            temp ? bench::temp_checkpoint_dir("", shape_name, dtype_name)
                 : std::filesystem::path(dir);
        // Writing mamba-2.8b's 5.5 GB of random weights takes longer than timing it: runs of
        // several scan variants on one shape write it once and --reuse it.
        const std::filesystem::path params_file = ckpt / "statescope-bench-params";
        std::int64_t params = 0;
        if (reuse && !temp && std::filesystem::exists(params_file)) {
            std::ifstream(params_file) >> params;
        } else {
            params = bench::write_random_checkpoint(ckpt, shape_name, dtype_name);
            if (!temp) std::ofstream(params_file) << params << "\n";
        }
        auto backend = make_backend(backend_name);
        auto model = Model::load(ckpt, *backend);
        const double weight_bytes = double(model->weights().total_bytes());

        const bool gpu = backend->name() != "cpu";
        const std::int64_t longest = *std::max_element(prompts.begin(), prompts.end());
        std::vector<std::int32_t> ids(static_cast<std::size_t>(longest), 0);
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t((i * 7919 + 13) % 50000);
        std::vector<std::vector<double>> prefill_s(prompts.size());
        std::vector<double> decode_tps;
        std::size_t state_bytes = 0;
        for (int r = 0; r < repeats + 1; ++r) {  // run 0 warms caches, page-ins, cuBLASLt choices
            for (std::size_t p = 0; p < prompts.size(); ++p) {
                Sequence seq(*model);
                state_bytes = seq.state_bytes();
                std::vector<float> logits;
                backend->synchronize();
                const auto t0 = Clock::now();
                model->prefill(seq, std::span(ids).first(std::size_t(prompts[p])), prefill_chunk,
                               {}, &logits);
                std::int32_t next = argmax(logits);
                const auto t1 = Clock::now();
                if (r > 0) prefill_s[p].push_back(std::chrono::duration<double>(t1 - t0).count());
                if (p != 0) continue;
                if (batch > 1) {
                    const double tps = decode_batch(*model, seq, next, prompts[0], batch, decode);
                    if (r > 0) decode_tps.push_back(tps);
                    continue;
                }
                // Decode as the studio runs it: greedy, the argmax on the backend, one id to the
                // host; sampled, the backend draws (device) or, for comparison, the host does.
                Sampler sampler(sampled);
                std::vector<std::int32_t> history(ids.begin(), ids.begin() + prompts[0]);
                const std::int64_t V = model->spec().vocab_size;
                for (std::int64_t k = 0; k < decode; ++k) {
                    const std::int32_t one[1] = {next};
                    history.push_back(next);
                    if (sampler_name == "greedy") {
                        next = model->forward_argmax(seq, one);
                    } else if (sampler_name == "device") {
                        const Sampler::Step step = sampler.next(history, V);
                        next = model->forward_sample(seq, one, sampler.params(), step.penalties(),
                                                     step.u);
                    } else {
                        model->forward(seq, one, LogitRows::Last, &logits);
                        next = sampler.sample(logits, history);
                    }
                }
                const auto t2 = Clock::now();
                if (r > 0)
                    decode_tps.push_back(double(decode) /
                                         std::chrono::duration<double>(t2 - t1).count());
            }
        }
        const std::size_t peak = backend->peak_bytes();
        const std::string device = backend->device_info();
        model.reset();
        if (temp) std::filesystem::remove_all(ckpt);
        // Decode floor: every weight byte read once per step (of B tokens) plus each sequence's
        // state read and written (fp32). CPU: the bandwidth measured now; CUDA: the H200 figures
        // of §5.
        const double bw = gpu ? 4800.0 : measure_read_bandwidth();
        const double step_bytes = weight_bytes + 2.0 * double(batch) * double(state_bytes);
        const double floor_tps = double(batch) * bw * 1e9 / step_bytes;
        const double dec = median(decode_tps);  // all rows together
        nlohmann::json prefill = nlohmann::json::array();
        for (std::size_t p = 0; p < prompts.size(); ++p) {
            const double t = median(prefill_s[p]);
            prefill.push_back({{"prompt_tokens", prompts[p]},
                               {"tokens_per_s", double(prompts[p]) / t},
                               {"ttft_ms", t * 1e3}});
        }
        nlohmann::json result = {
            {"shape", shape_name},
            {"model_type", shape.model_type},
            {"weights", dtype_name},
            {"state", "fp32"},
            {"batch", batch},
            {"params", params},
            {"weight_bytes", weight_bytes},
            {"state_bytes", state_bytes},
            {"backend", backend->name()},
            {"device", device},
            {"commit", commit},
            {"command", command},
            {"decode_steps", decode},
            {"prefill_chunk", prefill_chunk},
            {"decode_sampler", sampler_name},
            {"repeats", repeats},
            {"prefill", prefill},
            {"prefill_tokens_per_s", double(prompts[0]) / median(prefill_s[0])},
            {"decode_tokens_per_s", dec},
            {"decode_tokens_per_s_per_sequence", dec / double(batch)},
            {"decode_floor_tokens_per_s", floor_tps},
            {"decode_fraction_of_floor", dec / floor_tps},
        };
        if (gpu) {
            result["floor_bandwidth_gb_s"] = bw;
            result["decode_fraction_of_measured_4300_gb_s"] =
                dec / (double(batch) * 4300e9 / step_bytes);
            result["peak_backend_bytes"] = peak;
        } else {
            result["threads"] = omp_get_max_threads();
            result["cpu"] = cpu_name();
            result["read_bandwidth_gb_s"] = bw;
        }
        std::cout << result.dump(2) << "\n";
        if (!out.empty()) std::ofstream(out, std::ios::app) << result.dump() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "statescope-bench-model: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
