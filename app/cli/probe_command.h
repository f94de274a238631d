// statescope-cli probe passkey|needle|phonebook|perplexity --model DIR [--lengths 1k,2k,...]
//     [--depths 0,0.5,1] [--samples N] [--seed S] [--jrt] [--longmamba FILE] [--text-file F]
//     [--backend cpu|cuda] [--save [--db PATH]] --out FILE.json
// The recall probes of docs/ANALYSES.md §5 over a lengths x depths grid, or the per-token loss
// over a text; a progress line on stderr; the result as JSON in FILE (docs/PROBES-JSON.md), and
// with --save also in the session store as an analysis run of the model ("probe.KIND").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace statescope::cli {

struct ProbeArgs {
    std::string kind;  // passkey | needle | phonebook | perplexity
    std::string model_dir;
    std::string lengths = "1k,2k,4k,8k";
    std::string depths = "0,0.25,0.5,0.75,1";
    std::int64_t samples = 1;
    std::uint64_t seed = 123;
    bool jrt = false;
    std::string text_file;  // needle: background text; perplexity: the text
    std::int64_t max_new = 0;
    std::int64_t max_tokens = 0;  // perplexity: read at most this many tokens (0: all)
    std::string windows;          // perplexity: LongMamba's windowed protocol, e.g. "2k,10k"
    std::int64_t pred_len = 100;  // perplexity --windows: scored tokens at each window's end
    std::int64_t chunk = 512;
    std::string backend = "cpu";
    std::string longmamba;
    double longmamba_c = 5e-2, longmamba_b = 1.0;
    std::int64_t longmamba_min_tokens = 3000;
    bool save = false;
    std::string db;
    std::string out;
    bool quiet = false;
    bool keep_prompts = false;
};

CLI::App* add_probe_command(CLI::App& app, ProbeArgs& args);
int run_probe(const ProbeArgs& args);

// "1k,2k,512" -> {1024, 2048, 512} (k = 1024); Error naming the bad entry.
std::vector<std::int64_t> parse_lengths(const std::string& text);
// "0,0.25,1" -> {0, 0.25, 1}, each in [0, 1]; Error naming the bad entry.
std::vector<double> parse_depths(const std::string& text);

// The needle's default background text: $STATESCOPE_CORPUS_DIR/alice.txt, else
// <prefix>/share/statescope/corpus/alice.txt next to the installed executable, else the source
// tree's resources/corpus/alice.txt (a build tree). Error listing where it looked.
std::filesystem::path default_corpus_file();

}  // namespace statescope::cli
