// statescope-bench-probe: how long a passkey grid takes (issue 9, item 5), per length and in all,
// on the CPU or the GPU.
//
//   statescope-bench-probe (--shape mamba-130m [--dtype bf16] | --model DIR) [--backend cpu|cuda]
//                          [--lengths 1k,2k,4k,8k] [--depths 0,0.5,1] [--samples 1] [--out F]
//                          [--tokenizer FILE] [--commit SHA]
//
// --shape writes a random checkpoint at a public shape (bench/random_checkpoint.h) and uses the
// GPT-NeoX tokenizer of the test data; --model uses a real folder with its own tokenizer.json.
// Random weights answer nothing right: the time is the result (prefill dominates: 5-10 generated
// tokens after each prompt). One JSON line: seconds per length, total, prompt tokens, tokens/s,
// the load average before and after, machine and commit.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/probe_command.h"
#include "bench/bench_support.h"
#include "bench/random_checkpoint.h"
#include "core/analysis/probes/probe_json.h"
#include "core/analysis/probes/probe_runner.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/tokenizer/tokenizer.h"

using namespace statescope;
using bench::cpu_name, bench::first_line, bench::git_commit;

int main(int argc, char** argv) {
    CLI::App app{"time of a passkey grid"};
    std::string shape_name, dtype_name = "bf16", model_dir, backend_name = "cpu", out;
    std::string lengths = "1k,2k,4k,8k", depths = "0,0.5,1", tokenizer, commit;
    std::int64_t samples = 1;
    app.add_option("--shape", shape_name, "a random checkpoint: mamba-130m, mamba2-130m, ...");
    app.add_option("--dtype", dtype_name, "fp32, bf16 or fp16 (with --shape)");
    app.add_option("--model", model_dir, "a checkpoint folder with tokenizer.json");
    app.add_option("--backend", backend_name, "cpu or cuda");
    app.add_option("--lengths", lengths, "context lengths (k = 1024)");
    app.add_option("--depths", depths, "needle depths");
    app.add_option("--samples", samples, "prompts per cell");
    app.add_option("--out", out, "append the result as one JSON line to this file");
    app.add_option("--tokenizer", tokenizer,
                   "tokenizer.json for --shape (default: the test data's GPT-NeoX one)");
    app.add_option("--commit", commit, "the commit to record (default: git rev-parse HEAD)");
    CLI11_PARSE(app, argc, argv);
    const std::string command = bench::command_line(argc, argv);
    try {
        std::filesystem::path dir = model_dir, tok_file;
        if (!shape_name.empty()) {
            dir = bench::temp_checkpoint_dir("probe", shape_name, dtype_name);
            bench::write_random_checkpoint(dir, shape_name, dtype_name);
            tok_file = !tokenizer.empty() ? std::filesystem::path(tokenizer)
                                          : std::filesystem::path(STATESCOPE_TEST_DATA) / "golden" /
                                                "mamba-neox" / "tokenizer.json";
        } else if (model_dir.empty()) {
            std::cerr << "give --shape or --model\n";
            return 2;
        } else {
            tok_file = dir / "tokenizer.json";
        }
        const Tokenizer tok = Tokenizer::from_file(tok_file);
        TextCodec codec;
        codec.encode = [&tok](std::string_view s) { return tok.encode(std::string(s), false); };
        codec.encode_prompt = [&tok](std::string_view s) {
            return tok.encode(std::string(s), true);
        };
        codec.decode = [&tok](std::span<const std::int32_t> ids) { return tok.decode(ids); };
        auto backend = make_backend(backend_name);
        auto model = Model::load(dir, *backend);

        ProbeOptions o;
        o.kind = ProbeKind::Passkey;
        o.lengths = cli::parse_lengths(lengths);
        o.depths = cli::parse_depths(depths);
        o.samples = samples;
        const std::string load_before = first_line("/proc/loadavg");
        ProbeHooks hooks;
        hooks.progress = [](std::int64_t done, std::int64_t total) {
            std::cerr << "\rpasskey grid " << done << "/" << total << std::flush;
            if (done == total) std::cerr << "\n";
            return true;
        };
        const ProbeRun run = run_probe(*model, codec, o, nullptr, hooks);
        nlohmann::json per_length = nlohmann::json::array();
        std::int64_t total_tokens = 0;
        for (auto L : o.lengths) {
            double s = 0, prefill = 0;
            std::int64_t tokens = 0;
            for (const auto& x : run.samples)
                if (x.length == L) {
                    s += x.seconds;
                    prefill += x.prefill_seconds;
                    tokens += x.prompt_tokens;
                }
            total_tokens += tokens;
            per_length.push_back(
                {{"length", L},
                 {"seconds", s},
                 {"prompt_tokens", tokens},
                 {"tokens_per_s", s > 0 ? double(tokens) / s : 0.0},
                 {"prefill_seconds", prefill},
                 {"prefill_tokens_per_s", prefill > 0 ? double(tokens) / prefill : 0.0}});
        }
        const nlohmann::json line = {
            {"bench", "probe-passkey-grid"},
            {"command", command},
            {"model",
             shape_name.empty() ? model_dir : shape_name + " (random, " + dtype_name + ")"},
            {"backend", backend->name()},
            {"lengths", o.lengths},
            {"depths", o.depths},
            {"samples", samples},
            {"seconds", run.seconds},
            {"prompt_tokens", total_tokens},
            {"tokens_per_s", run.seconds > 0 ? double(total_tokens) / run.seconds : 0.0},
            {"per_length", per_length},
            {"accuracy", probe_summary_json(run)["overall"]},
            {"load_average_before", load_before},
            {"load_average_after", first_line("/proc/loadavg")},
            {"cpu", cpu_name()},
            {"commit", commit.empty() ? git_commit() : commit}};
        std::cout << line.dump() << "\n";
        if (!out.empty()) std::ofstream(out, std::ios::app) << line.dump() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "statescope-bench-probe: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
