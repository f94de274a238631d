#include "core/analysis/probes/probe_json.h"

#include <cmath>

namespace statescope {

using nlohmann::json;

namespace {

std::size_t index_of(const std::vector<std::int64_t>& v, std::int64_t x) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] == x) return i;
    return v.size();
}

std::size_t index_of(const std::vector<double>& v, double x) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] == x) return i;
    return v.size();
}

}  // namespace

json probe_summary_json(const ProbeRun& run) {
    const auto& L = run.options.lengths;
    const auto& D = run.options.depths;
    std::vector<std::vector<std::int64_t>> correct(L.size(), std::vector<std::int64_t>(D.size())),
        count(L.size(), std::vector<std::int64_t>(D.size()));
    std::int64_t all_correct = 0;
    for (const auto& s : run.samples) {
        const std::size_t i = index_of(L, s.length), j = index_of(D, s.depth);
        if (i == L.size() || j == D.size()) continue;
        ++count[i][j];
        correct[i][j] += s.correct;
        all_correct += s.correct;
    }
    json accuracy = json::array(), by_length = json::array();
    for (std::size_t i = 0; i < L.size(); ++i) {
        json row = json::array();
        std::int64_t rc = 0, rn = 0;
        for (std::size_t j = 0; j < D.size(); ++j) {
            row.push_back(count[i][j] ? json(double(correct[i][j]) / double(count[i][j]))
                                      : json(nullptr));
            rc += correct[i][j];
            rn += count[i][j];
        }
        accuracy.push_back(std::move(row));
        by_length.push_back(rn ? json(double(rc) / double(rn)) : json(nullptr));
    }
    const auto n = static_cast<std::int64_t>(run.samples.size());
    return {{"lengths", L},
            {"depths", D},
            {"accuracy", accuracy},
            {"correct", correct},
            {"count", count},
            {"accuracy_by_length", by_length},
            {"overall", n ? json(double(all_correct) / double(n)) : json(nullptr)}};
}

json probe_run_json(const ProbeRun& run) {
    const ProbeOptions& o = run.options;
    json samples = json::array();
    for (const auto& s : run.samples) {
        json j = {{"length", s.length},
                  {"depth", s.depth},
                  {"sample", s.sample},
                  {"seed", s.seed},
                  {"prompt_tokens", s.prompt_tokens},
                  {"context_tokens", s.context_tokens},
                  {"needle_token", s.needle_token},
                  {"actual_depth", s.actual_depth},
                  {"units", s.units},
                  {"expected", s.expected},
                  {"got", s.got},
                  {"correct", s.correct},
                  {"generated_tokens", s.generated_tokens},
                  {"longmamba_active", s.longmamba_active},
                  {"seconds", s.seconds},
                  {"prefill_seconds", s.prefill_seconds},
                  {"decode_seconds", s.decode_seconds}};
        if (o.keep_prompts) j["prompt"] = s.prompt;
        samples.push_back(std::move(j));
    }
    return {{"format", "statescope-probe"},
            {"version", kProbeJsonVersion},
            {"probe", probe_kind_name(o.kind)},
            {"options",
             {{"lengths", o.lengths},
              {"depths", o.depths},
              {"samples", o.samples},
              {"seed", o.seed},
              {"jrt", o.jrt},
              {"max_new_tokens",
               o.max_new_tokens > 0 ? o.max_new_tokens : default_max_new_tokens(o.kind)},
              {"prefill_chunk", o.prefill_chunk},
              {"keep_prompts", o.keep_prompts}}},
            {"planned", run.planned},
            {"completed", static_cast<std::int64_t>(run.samples.size())},
            {"cancelled", run.cancelled},
            {"seconds", run.seconds},
            {"samples", samples},
            {"summary", probe_summary_json(run)}};
}

json token_loss_json(const TokenLoss& loss, const std::vector<std::int32_t>& ids,
                     const std::vector<std::string>& pieces, std::int64_t chunk) {
    json j = {{"format", "statescope-probe"},
              {"version", kProbeJsonVersion},
              {"probe", "perplexity"},
              {"mode", "tokens"},
              {"tokens", static_cast<std::int64_t>(ids.size())},
              {"scored", static_cast<std::int64_t>(loss.nll.size())},
              {"chunk", chunk},
              {"ids", ids},
              {"nll", loss.nll},
              {"mean_nll", loss.mean_nll},
              {"perplexity", loss.perplexity},
              {"cancelled", loss.cancelled}};
    if (!pieces.empty()) j["pieces"] = pieces;
    return j;
}

json windowed_loss_json(const WindowedLoss& loss, const WindowedOptions& options) {
    json windows = json::array();
    for (const auto& w : loss.windows)
        windows.push_back({{"window", w.window},
                           {"starts", w.starts},
                           {"mean_nll", w.mean_nll},
                           {"nll", w.nll},
                           {"perplexity", w.perplexity}});
    return {{"format", "statescope-probe"}, {"version", kProbeJsonVersion},
            {"probe", "perplexity"},        {"mode", "windows"},
            {"pred_len", options.pred_len}, {"max_windows", options.max_windows},
            {"windows", windows},           {"average_perplexity", loss.average_perplexity},
            {"cancelled", loss.cancelled}};
}

}  // namespace statescope
