// statescope-bench-context: batch-1 decode tokens/s and resident memory against context length, for
// a Transformer (KV cache grows with the context) beside an SSM (state does not):
//
//   statescope-bench-context --shape llama-130m --shape mamba-130m --contexts 1024,8192,32768
//                            [--dtype bf16] [--decode 16] [--out result.jsonl]
//
// The context is installed by restoring a synthetic snapshot at position P (random keys/values,
// zero SSM state) instead of prefilling P tokens: decode cost depends on P, not on what the cache
// holds, and a 32k-token attention prefill would take hours on this CPU. Resident memory is VmRSS
// after the decode (weights are mmapped: the pages the decode touched count).
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/bench_support.h"
#include "bench/random_checkpoint.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

using namespace statescope;
using Clock = std::chrono::steady_clock;

namespace {

double proc_status_mb(const std::string& key) {  // VmRSS / VmHWM in MB
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
    return -1;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

// A snapshot of `seq`'s layout at `position` with random KV rows and zero fixed state.
SequenceSnapshot synthetic(const Model& model, std::int64_t position, std::uint64_t seed) {
    SequenceSnapshot snap;
    snap.position = position;
    std::uint64_t s = seed;
    auto next = [&] {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return float(std::int32_t(s >> 32)) / 2147483648.0f;  // [-1, 1)
    };
    const auto kv = model.kv_layout();
    std::size_t i = 0;
    for (const auto& sizes : model.state_layout()) {
        for (std::size_t n : sizes) snap.buffers.emplace_back(n, 0.0f);
        if (kv[i] > 0)
            for (int k = 0; k < 2; ++k) {
                std::vector<float> rows(std::size_t(position * kv[i]));
                for (auto& x : rows) x = next();
                snap.buffers.push_back(std::move(rows));
            }
        ++i;
    }
    return snap;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"decode tokens/s and resident memory against context length"};
    std::vector<std::string> shapes;
    std::string contexts_arg = "1024,8192,32768", dtype_arg = "bf16", out_path,
                dir = "/tmp/statescope-bench-ctx";
    std::int64_t decode = 16;
    app.add_option("--shape", shapes, "llama-130m, mamba-130m, ...")->required();
    app.add_option("--contexts", contexts_arg, "context lengths, comma-separated");
    app.add_option("--dtype", dtype_arg, "fp32, bf16 or fp16 weights");
    app.add_option("--decode", decode, "decode steps timed at each context");
    app.add_option("--out", out_path, "append JSON lines here");
    app.add_option("--dir", dir, "where the random checkpoints are written");
    CLI11_PARSE(app, argc, argv);
    std::vector<std::int64_t> contexts;
    std::stringstream ss(contexts_arg);
    for (std::string c; std::getline(ss, c, ',');) contexts.push_back(std::stoll(c));
    const std::string command = bench::command_line(argc, argv);

    auto backend = make_backend("cpu");
    for (const std::string& name : shapes) {
        const auto path = std::filesystem::path(dir) / (name + "-" + dtype_arg);
        const std::int64_t params = bench::write_random_checkpoint(path, name, dtype_arg, 7);
        auto model = Model::load(path, *backend);
        for (std::int64_t ctx : contexts) {
            const std::string load_before = load_average();
            Sequence seq(*model);
            {
                SequenceSnapshot snap = synthetic(*model, ctx, 1234);
                seq.restore(snap);
            }
            std::vector<float> logits;
            std::int32_t tok = 1;
            model->forward(seq, std::span<const std::int32_t>(&tok, 1), LogitRows::Last,
                           &logits);  // warm-up
            const auto t0 = Clock::now();
            for (std::int64_t i = 0; i < decode; ++i) {
                tok = std::int32_t((tok * 31 + 7) % 50000);
                model->forward(seq, std::span<const std::int32_t>(&tok, 1), LogitRows::Last,
                               &logits);
            }
            const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
            nlohmann::json r = {{"shape", name},
                                {"model_type", model->spec().model_type},
                                {"params", params},
                                {"weights", dtype_arg},
                                {"context_tokens", ctx},
                                {"decode_steps", decode},
                                {"decode_tokens_per_s", double(decode) / secs},
                                {"sequence_state_bytes", seq.state_bytes()},
                                {"kv_cache_bytes_per_token", model->kv_bytes_per_token()},
                                {"recurrent_state_bytes", model->recurrent_state_bytes()},
                                {"rss_mb", proc_status_mb("VmRSS")},
                                {"peak_rss_mb", proc_status_mb("VmHWM")},
                                {"load_average_before", load_before},
                                {"load_average_after", load_average()},
                                {"command", command}};
            std::cout << r.dump() << std::endl;
            if (!out_path.empty()) std::ofstream(out_path, std::ios::app) << r.dump() << "\n";
        }
    }
    return 0;
}
