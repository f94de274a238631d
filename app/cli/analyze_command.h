// statescope-cli analyze KIND --model DIR (--text S | --text-file F | --ids 1,2,3 | --ids-file F)
//     [--layers 0,3,5-7] --out FILE.json
// KIND: decay, lyapunov, state-stats, receptive-field, longmamba-calibrate, implicit-attention,
// logit-lens. One prefill of the prompt with the captures the analysis needs; a progress line on
// stderr; the result as JSON in FILE (docs/ANALYSIS-JSON.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace statescope::cli {

struct AnalyzeArgs {
    std::string kind;
    std::string model_dir;
    std::optional<std::string> text, text_file, ids, ids_file;
    std::string layers;  // "0,3,5-7"; empty: every layer the analysis applies to
    std::string out;
    std::string backend = "cpu";
    std::int64_t chunk = 512;
    bool quiet = false;
    // decay
    std::optional<std::int64_t> retention_from, retention_to;
    // lyapunov
    std::string perturb = "none";  // none | embedding | state
    std::int64_t t0 = 0;
    double epsilon = 1e-3;
    std::optional<std::int64_t> stride;  // lyapunov --perturb: 16; state-stats: 128
    std::uint64_t seed = 1;
    std::string state_at;  // state-stats: full states after these many tokens, e.g. 128,1024
    // receptive-field, longmamba-calibrate
    double clamp_top = 0.1;
    double c = 5e-2;
    std::int64_t window = 2000;
    std::int64_t samples = 100;
    std::string aggregate = "max";
    std::string lengths;  // "1000,2000,..."; empty: LongMamba's list
    // implicit-attention: --from/--to give the window; --units the heads or channels
    std::string units;
    // logit-lens
    std::int64_t top_k = 5;
};

CLI::App* add_analyze_command(CLI::App& app, AnalyzeArgs& args);
int run_analyze(const AnalyzeArgs& args);

// "0,3,5-7" -> {0, 3, 5, 6, 7}; Error naming the bad entry.
std::vector<std::int64_t> parse_layers(const std::string& text);

}  // namespace statescope::cli
