// statescope-bench-analysis-capture: what the analysis captures cost during a prefill
// (issue 6, item 9: delta and state-norm capture on must cost <= 10% more than off).
//
//   statescope-bench-analysis-capture --shape mamba-130m --dtype bf16 [--prompt 2048] [--stride
//   128]
//                                     [--repeats 5] [--dir /tmp/ckpt] [--out result.jsonl]
//
// Configurations, interleaved in every repeat so a change in machine load hits all of them alike
// (the median of each is reported):
//   off          plain prefill, chunks of 512 (what generate does)
//   off_stride   plain prefill with the same chunk ends as the capture run (multiples of --stride)
//   capture      CaptureCollector on every layer: delta sums per unit (for lyapunov / half-life)
//   and
//                state statistics (mean, var, RMS, cosine drift) every --stride tokens
//   capture_full capture + the full delta [T, units] kept (what analyze decay does)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_support.h"
#include "bench/random_checkpoint.h"
#include "core/analysis/capture.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

using namespace statescope;
using Clock = std::chrono::steady_clock;
using bench::median;

int main(int argc, char** argv) {
    CLI::App app{"prefill cost of the analysis captures"};
    std::string shape_name = "mamba-130m", dtype_name = "bf16", dir, out;
    std::int64_t prompt = 2048, stride = 128, repeats = 5;
    app.add_option("--shape", shape_name, "mamba-130m, mamba2-130m, ...");
    app.add_option("--dtype", dtype_name, "fp32, bf16 or fp16");
    app.add_option("--prompt", prompt, "prompt tokens");
    app.add_option("--stride", stride, "state statistics every this many tokens");
    app.add_option("--repeats", repeats, "repeats (median reported)");
    app.add_option("--dir", dir, "where to write the random checkpoint (default: a temp folder)");
    app.add_option("--out", out, "append the result as one JSON line to this file");
    CLI11_PARSE(app, argc, argv);
    try {
        const auto shape = bench::shape_by_name(shape_name);
        const std::filesystem::path ckpt =
            dir.empty() ? bench::temp_checkpoint_dir("capture", shape_name, dtype_name)
                        : std::filesystem::path(dir);
        bench::write_random_checkpoint(ckpt, shape_name, dtype_name);
        auto backend = make_backend("cpu");
        auto model = Model::load(ckpt, *backend);
        std::vector<std::int32_t> ids(static_cast<std::size_t>(prompt));
        for (std::int64_t i = 0; i < prompt; ++i)
            ids[std::size_t(i)] = static_cast<std::int32_t>((i * 7919 + 13) % shape.vocab_size);
        const auto ends_plain = chunk_ends(prompt, 512, 0, {});
        const auto ends_stride = chunk_ends(prompt, 512, stride, {});
        auto run = [&](const std::vector<std::int64_t>& ends, Observer* obs) {
            Sequence seq(*model);
            if (obs) model->add_observer(obs);
            const auto t0 = Clock::now();
            prefill_with_ends(*model, seq, ids, ends, {});
            const double s = std::chrono::duration<double>(Clock::now() - t0).count();
            if (obs) model->remove_observer(obs);
            return s;
        };
        run(ends_plain, nullptr);  // warm-up: page in the weights
        std::vector<double> off, off_stride, cap, cap_full;
        for (std::int64_t r = 0; r < repeats; ++r) {
            off.push_back(run(ends_plain, nullptr));
            off_stride.push_back(run(ends_stride, nullptr));
            CaptureOptions o;
            o.state_stride = stride;
            CaptureCollector c(*model, o);
            cap.push_back(run(ends_stride, &c));
            o.keep_delta = true;
            CaptureCollector f(*model, o);
            cap_full.push_back(run(ends_stride, &f));
            std::cerr << "repeat " << r + 1 << "/" << repeats << ": off " << off.back()
                      << " s, off_stride " << off_stride.back() << " s, capture " << cap.back()
                      << " s, capture_full " << cap_full.back() << " s\n";
        }
        const double m_off = median(off), m_off_stride = median(off_stride), m_cap = median(cap),
                     m_full = median(cap_full);
        nlohmann::json result = {
            {"shape", shape_name},
            {"weights", dtype_name},
            {"prompt_tokens", prompt},
            {"stride", stride},
            {"repeats", repeats},
            {"seconds_off", m_off},
            {"seconds_off_stride", m_off_stride},
            {"seconds_capture", m_cap},
            {"seconds_capture_full_delta", m_full},
            {"prefill_tokens_per_s_off", double(prompt) / m_off},
            {"prefill_tokens_per_s_capture", double(prompt) / m_cap},
            {"overhead_vs_off", m_cap / m_off - 1},
            {"overhead_vs_off_same_chunks", m_cap / m_off_stride - 1},
            {"overhead_full_delta_vs_off", m_full / m_off - 1},
        };
        std::cout << result.dump(2) << "\n";
        if (!out.empty()) std::ofstream(out, std::ios::app) << result.dump() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "statescope-bench-analysis-capture: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
