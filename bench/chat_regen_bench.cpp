// statescope-bench-chat-regen: time to first token of a regenerated reply against conversation
// length, from the Conversation's state snapshot (core/chat/conversation.h), next to a fresh
// prefill of the same prompt. For a pure SSM the first must stay flat (the snapshot is O(1) in
// length and only the generation prompt is prefilled); the second grows with the conversation.
//
//   statescope-bench-chat-regen [--shape mamba-130m] [--dtype bf16] [--turns 1,4,16,64]
//                               [--repeats 3] [--out results.jsonl] [--command "..."]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_support.h"
#include "bench/random_checkpoint.h"
#include "core/chat/conversation.h"
#include "core/runtime/backends.h"

using namespace statescope;
using Clock = std::chrono::steady_clock;
using bench::cpu_name, bench::first_line, bench::git_commit, bench::median;

namespace {

// ChatML turns, as a typical template renders them.
constexpr const char* kTemplate =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + "
    "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' "
    "}}{% endif %}";

// A conversation of `turns` user messages with an assistant reply after all but the last.
void fill(Conversation& c, int turns) {
    c.add("system", "You are a helpful assistant that answers questions about state space models.");
    for (int t = 0; t < turns; ++t) {
        c.add("user", "Question " + std::to_string(t) +
                          ": how does a selective state space layer decide what to keep in its "
                          "state and what to forget?");
        if (t + 1 < turns)
            c.add("assistant", "Answer " + std::to_string(t) +
                                   ": the step size delta depends on the input, so each token "
                                   "chooses how strongly the state decays and how much it writes.");
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"regenerate latency vs conversation length, from a snapshot and from scratch"};
    std::string shape_name = "mamba-130m", dtype_name = "bf16", out, command;
    std::vector<int> turns_list = {1, 4, 16, 64};
    int repeats = 3;
    app.add_option("--shape", shape_name, "mamba-130m | mamba2-130m | ...");
    app.add_option("--dtype", dtype_name, "fp32 | bf16 | fp16 weights");
    app.add_option("--turns", turns_list, "conversation lengths (user turns)")->delimiter(',');
    app.add_option("--repeats", repeats, "timed runs per length; the median is reported");
    app.add_option("--out", out, "append one JSON line per length to this file");
    app.add_option("--command", command, "the command line to record (default: argv)");
    CLI11_PARSE(app, argc, argv);
    if (command.empty()) command = bench::command_line(argc, argv);
    try {
        const auto ckpt = bench::temp_checkpoint_dir("chat", shape_name, dtype_name);
        bench::write_random_checkpoint(ckpt, shape_name, dtype_name);
        auto backend = make_backend("cpu");
        auto model = Model::load(ckpt, *backend);
        const Tokenizer tok = Tokenizer::from_file(std::filesystem::path(STATESCOPE_TEST_DATA) /
                                                   "golden" / "mamba-neox" / "tokenizer.json");
        const ChatTemplate tmpl = ChatTemplate::parse(kTemplate);
        GenerateOptions one;
        one.max_new_tokens = 1;  // time to first token only

        for (int turns : turns_list) {
            Conversation c(*model, tok, ChatFormat{tmpl, "", "", {}, {}});
            fill(c, turns);
            // The first reply reads the whole conversation and leaves a snapshot at the last
            // user message.
            const auto first = c.reply(one);
            const std::vector<std::int32_t> prompt = first.prompt;
            std::vector<double> regen_ms, fresh_ms;
            std::int64_t prefilled = 0;
            for (int r = 0; r < repeats + 1; ++r) {  // the first run warms up; not counted
                const auto t0 = Clock::now();
                double ttft = 0;
                const auto reg = c.regenerate(one, [&](std::int32_t) {
                    ttft = std::chrono::duration<double>(Clock::now() - t0).count();
                    return true;
                });
                prefilled = std::int64_t(reg.prompt.size()) - reg.reused_tokens;
                Sequence fresh(*model);
                const auto t1 = Clock::now();
                double fresh_ttft = 0;
                generate(
                    *model, fresh, prompt, one,
                    [&](std::int32_t) {
                        fresh_ttft = std::chrono::duration<double>(Clock::now() - t1).count();
                        return true;
                    },
                    nullptr);
                if (r == 0) continue;
                regen_ms.push_back(ttft * 1e3);
                fresh_ms.push_back(fresh_ttft * 1e3);
            }
            nlohmann::json result = {
                {"bench", "chat-regen"},
                {"shape", shape_name},
                {"weights", dtype_name},
                {"turns", turns},
                {"messages", c.messages().size()},
                {"prompt_tokens", prompt.size()},
                {"regen_prefilled_tokens", prefilled},
                {"regen_ttft_ms", median(regen_ms)},
                {"fresh_prefill_ttft_ms", median(fresh_ms)},
                {"regen_ttft_ms_min", *std::min_element(regen_ms.begin(), regen_ms.end())},
                {"fresh_prefill_ttft_ms_min", *std::min_element(fresh_ms.begin(), fresh_ms.end())},
                {"repeats", repeats},
                {"snapshot_bytes", c.snapshot_bytes()},
                {"cpu", cpu_name()},
                {"load_average", first_line("/proc/loadavg")},
                {"commit", git_commit()},
                {"command", command},
            };
            std::cout << result.dump() << std::endl;
            if (!out.empty()) std::ofstream(out, std::ios::app) << result.dump() << "\n";
        }
        model.reset();
        std::filesystem::remove_all(ckpt);
    } catch (const std::exception& e) {
        std::cerr << "statescope-bench-chat-regen: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
