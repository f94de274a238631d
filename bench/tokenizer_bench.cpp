// Tokenizer speed (Google Benchmark): loading the GPT-NeoX tokenizer.json and encoding real text.
//   statescope-bench-tokenizer [--benchmark_out=FILE --benchmark_out_format=json]
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "core/tokenizer/tokenizer.h"

namespace {

const std::string kData = std::string(STATESCOPE_TEST_DATA) + "/tokenizer/";
// The GPT-NeoX-20B tokenizer: the golden mamba-neox checkpoint's (one copy in the tree).
const std::string kNeoxTokenizer =
    std::string(STATESCOPE_TEST_DATA) + "/golden/mamba-neox/tokenizer.json";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void BM_LoadNeox(benchmark::State& state) {
    for (auto _ : state) {
        auto t = statescope::Tokenizer::from_file(kNeoxTokenizer);
        benchmark::DoNotOptimize(t.vocab_size());
    }
}
BENCHMARK(BM_LoadNeox)->Unit(benchmark::kMillisecond);

// The vocabulary test strings (a mix of scripts, digits, whitespace runs), encoded back to back.
void BM_EncodeNeox(benchmark::State& state) {
    const auto t = statescope::Tokenizer::from_file(kNeoxTokenizer);
    const std::string text = read_file(kData + "neox-vocab-test.inp");
    std::size_t tokens = 0;
    for (auto _ : state) tokens += t.encode(text).size();
    state.SetBytesProcessed(std::int64_t(state.iterations() * text.size()));
    state.counters["tokens/s"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeNeox)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
