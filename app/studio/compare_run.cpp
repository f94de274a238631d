#include "app/studio/compare_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/analysis/capture.h"
#include "core/analysis/decay.h"
#include "core/error.h"
#include "core/model/config.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

namespace statescope::studio {

namespace fs = std::filesystem;

namespace {

struct Cancelled {};

// Length in bytes of the UTF-8 character that starts with byte c (1 for a stray continuation).
std::size_t utf8_length(unsigned char c) {
    if (c >= 0xF0) return 4;
    if (c >= 0xE0) return 3;
    if (c >= 0xC0) return 2;
    return 1;
}

// `s` with every byte that is not part of a well-formed UTF-8 character replaced by U+FFFD: a
// random-weight model emits any bytes, and JSON (the saved comparison) holds only UTF-8.
std::string valid_utf8(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80                  ? 1
                        : (c >= 0xC2 && c < 0xE0) ? 2
                        : (c >= 0xE0 && c < 0xF0) ? 3
                        : (c >= 0xF0 && c < 0xF5) ? 4
                                                  : 0;
        bool ok = n > 0 && i + n <= s.size();
        for (std::size_t k = 1; ok && k < n; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (ok && n == 3) {  // no overlong forms, no surrogates
            const auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
        }
        if (ok && n == 4) {  // no overlong forms, nothing past U+10FFFF
            const auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (ok) {
            out.append(s, i, n);
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

// Nearest-rank quantile of v (sorted in place).
double quantile(std::vector<double>& v, double q) {
    if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(v.begin(), v.end());
    const auto k =
        std::size_t(std::clamp(std::ceil(q * double(v.size())) - 1.0, 0.0, double(v.size() - 1)));
    return v[k];
}

// Bytes of the sequence's state that hold data: every fixed buffer, and the KV rows of the
// positions so far (keys and values), read from the runtime's LayerState objects.
std::int64_t used_state_bytes(Sequence& seq, std::size_t n_states) {
    std::int64_t n = 0;
    for (std::size_t i = 0; i < n_states; ++i) {
        LayerState& l = seq.layer(i);
        for (const auto& b : l.buffers) n += std::int64_t(b->bytes());
        n += 2 * seq.position() * l.kv_width * std::int64_t(sizeof(float));
    }
    return n;
}

}  // namespace

CompareTokenizer::CompareTokenizer(const std::string& model_dir, std::int64_t vocab_size) {
    const fs::path path = fs::path(model_dir) / "tokenizer.json";
    if (fs::exists(path)) {
        tokenizer_ = Tokenizer::from_file(path);
        name_ = "tokenizer.json";
        return;
    }
    if (vocab_size < 256)
        throw Error("cannot compare " + model_dir + ": it has no tokenizer.json (and its " +
                    std::to_string(vocab_size) + "-token vocabulary cannot hold raw bytes)");
    name_ = "UTF-8 bytes (no tokenizer.json)";
}

std::vector<std::int32_t> CompareTokenizer::encode(const std::string& text) const {
    if (tokenizer_) return tokenizer_->encode(text, true);
    std::vector<std::int32_t> ids;
    for (unsigned char c : text) ids.push_back(std::int32_t(c));
    return ids;
}

std::string CompareTokenizer::decode(std::span<const std::int32_t> ids) const {
    if (tokenizer_) return tokenizer_->decode(ids, true);
    std::string s;
    for (std::int32_t id : ids)
        if (id >= 0 && id < 256) s += char(id);
    return s;
}

std::vector<std::string> CompareTokenizer::pieces(std::span<const std::int32_t> ids) const {
    std::vector<std::string> out(ids.size());
    if (!tokenizer_) {
        // A character's lead byte carries the whole character; its continuation bytes show empty.
        for (std::size_t i = 0; i < ids.size();) {
            const auto c = static_cast<unsigned char>(ids[i] & 0xFF);
            const std::size_t n = std::min(utf8_length(c), ids.size() - i);
            for (std::size_t k = 0; k < n; ++k) out[i] += char(ids[i + k] & 0xFF);
            i += n;
        }
        return out;
    }
    // Token i's text is what it adds to the decoded window of the few tokens before it: byte-level
    // BPE splits characters over tokens, and SentencePiece drops a leading space at the start.
    constexpr std::size_t kWindow = 8;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::size_t from = i > kWindow ? i - kWindow : 0;
        const std::string before = tokenizer_->decode(ids.subspan(from, i - from), false);
        const std::string with = tokenizer_->decode(ids.subspan(from, i + 1 - from), false);
        if (with.size() >= before.size() && with.compare(0, before.size(), before) == 0)
            out[i] = with.substr(before.size());
        else
            out[i] = tokenizer_->decode(ids.subspan(i, 1), false);
    }
    return out;
}

std::vector<double> token_nll(Model& model, std::span<const std::int32_t> ids, std::int64_t chunk,
                              const StageFn& progress) {
    const auto T = std::int64_t(ids.size());
    std::vector<double> nll(ids.size(), std::numeric_limits<double>::quiet_NaN());
    if (T < 2) return nll;
    const std::int64_t V = model.spec().vocab_size;
    Sequence seq(model);
    std::vector<float> logits;
    // The last token predicts nothing in the text: only ids[0 .. T-2] need logits.
    for (std::int64_t start = 0; start < T - 1; start += chunk) {
        const std::int64_t n = std::min(chunk, T - 1 - start);
        model.forward(seq, ids.subspan(std::size_t(start), std::size_t(n)), LogitRows::All,
                      &logits);
        for (std::int64_t r = 0; r < n; ++r) {
            // log_softmax in double: log sum exp(l - max) + max - l[next]
            const float* row = logits.data() + r * V;
            const float mx = *std::max_element(row, row + V);
            double sum = 0;
            for (std::int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - double(mx));
            const std::int32_t next = ids[std::size_t(start + r + 1)];
            nll[std::size_t(start + r + 1)] = std::log(sum) + double(mx) - double(row[next]);
        }
        if (progress && !progress("loss", start + n, T - 1)) throw Cancelled{};
    }
    return nll;
}

ModelResult run_compare_model(const std::string& dir, const CompareRequest& request,
                              kernels::Backend& backend, const StageFn& progress) {
    ModelResult r;
    r.dir = dir;
    r.name = fs::path(dir).filename().string();
    if (r.name.empty()) r.name = fs::path(dir).parent_path().filename().string();
    r.backend = backend.name();
    auto step = [&](const char* stage, std::int64_t done, std::int64_t total) {
        if (progress && !progress(stage, done, total)) throw Cancelled{};
    };
    try {
        step("load", 0, 1);
        std::unique_ptr<Model> model = Model::load(dir, backend);
        const ModelSpec& spec = model->spec();
        r.model_type = spec.model_type;
        r.layer_pattern = spec.layer_pattern();
        for (const auto& name : model->weights().names())
            r.weight_bytes += std::int64_t(model->weights().find(name)->bytes);
        r.recurrent_state_bytes = std::int64_t(model->recurrent_state_bytes());
        r.kv_bytes_per_token = std::int64_t(model->kv_bytes_per_token());
        CompareTokenizer tok(dir, spec.vocab_size);
        r.tokenizer = tok.name();
        step("load", 1, 1);

        // 1. The prompt and the reply: TTFT, prefill and decode speed, the state afterwards.
        {
            const std::vector<std::int32_t> prompt = tok.encode(request.prompt);
            if (prompt.empty()) throw Error("the prompt is empty");
            // One token through a throwaway sequence first, so that lazily allocated buffers
            // and the CPU thread pool's start-up are not counted in the TTFT of whichever model
            // happens to run first.
            {
                Sequence warm(*model);
                std::vector<float> logits;
                model->forward(warm, std::span(prompt).first(1), LogitRows::Last, &logits);
            }
            GenerateOptions opts;
            opts.max_new_tokens = request.max_new_tokens;
            opts.sampler = request.sampler;
            opts.stop_ids = spec.eos_token_ids;
            if (fs::exists(fs::path(dir) / "generation_config.json")) {
                auto ids = Config::load(fs::path(dir) / "generation_config.json")
                               .get_int_list("eos_token_id");
                if (!ids.empty()) opts.stop_ids = ids;
            }
            opts.detokenize = [&tok](std::span<const std::int32_t> ids) { return tok.decode(ids); };
            opts.prefill_progress = [&](std::int64_t done, std::int64_t total) {
                return !progress || progress("generate", done, total + request.max_new_tokens);
            };
            Sequence seq(*model);
            std::int64_t made = 0;
            bool stopped = false;
            auto on_token = [&](std::int32_t) {
                ++made;
                if (progress && !progress("generate", std::int64_t(prompt.size()) + made,
                                          std::int64_t(prompt.size()) + request.max_new_tokens)) {
                    stopped = true;
                    return false;
                }
                return true;
            };
            std::vector<std::int32_t> out_ids;
            const GenerateStats g = generate(*model, seq, prompt, opts, on_token, &out_ids);
            if (stopped || g.stop == StopReason::Cancelled) throw Cancelled{};
            r.output = valid_utf8(g.text);
            r.prompt_tokens = g.prompt_tokens;
            r.generated_tokens = g.generated_tokens;
            r.ttft_s = g.time_to_first_token;
            r.prefill_s = g.prefill_seconds;
            r.decode_s = g.decode_seconds;
            r.prefill_tok_s = g.prefill_tokens_per_s();
            r.decode_tok_s = g.decode_tokens_per_s();
            r.state_bytes = std::int64_t(seq.state_bytes());
        }

        const std::string& text = request.text.empty() ? request.prompt : request.text;
        const std::vector<std::int32_t> text_ids = tok.encode(text);

        // 2. Memory against context: the text (repeated) prefilled up to each length in turn; the
        // sizes are read from the sequence, not computed from the config.
        {
            std::vector<std::int64_t> lengths = request.context_lengths;
            std::sort(lengths.begin(), lengths.end());
            lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
            lengths.erase(std::remove_if(lengths.begin(), lengths.end(),
                                         [](std::int64_t n) { return n <= 0; }),
                          lengths.end());
            if (!lengths.empty() && !text_ids.empty()) {
                std::vector<std::int32_t> ids;
                while (std::int64_t(ids.size()) < lengths.back())
                    ids.insert(ids.end(), text_ids.begin(), text_ids.end());
                Sequence seq(*model);
                const std::size_t n_states = model->state_layout().size();
                for (std::int64_t L : lengths) {
                    const auto from = std::size_t(seq.position());
                    if (!model->prefill(seq, std::span(ids).subspan(from, std::size_t(L) - from),
                                        512, {}, nullptr))
                        throw Cancelled{};
                    r.memory.push_back(
                        {L, std::int64_t(seq.state_bytes()), used_state_bytes(seq, n_states)});
                    step("memory", L, lengths.back());
                }
            }
        }

        // 3. Per-token loss over the text.
        {
            const std::vector<double> nll = token_nll(*model, text_ids, 256, progress);
            const std::vector<std::string> pieces = tok.pieces(text_ids);
            double sum = 0;
            std::int64_t n = 0;
            for (std::size_t i = 0; i < text_ids.size(); ++i) {
                r.loss.push_back({text_ids[i], valid_utf8(pieces[i]), nll[i]});
                if (std::isfinite(nll[i])) {
                    sum += nll[i];
                    ++n;
                }
            }
            r.mean_nll = n > 0 ? sum / double(n) : std::numeric_limits<double>::quiet_NaN();
        }

        // 4. Decay profile of the Mamba layers over the text.
        if (!ssm_layers(spec).empty() && !text_ids.empty()) {
            step("decay", 0, 1);
            const auto T = std::int64_t(text_ids.size());
            Captures cap = capture_prefill(*model, text_ids, CaptureOptions{});
            for (const auto& l : cap.layers) {
                const LyapunovLayer ly = lyapunov_exponents(l, T);
                std::vector<double> hl;
                for (double e : ly.exponents) hl.push_back(half_life(e));
                r.decay.layers.push_back(l.index);
                r.decay.p10_half_life.push_back(quantile(hl, 0.1));
                r.decay.median_half_life.push_back(quantile(hl, 0.5));
                r.decay.p90_half_life.push_back(quantile(hl, 0.9));
            }
            step("decay", 1, 1);
        }
    } catch (const Cancelled&) {
        r.cancelled = true;
    } catch (const std::exception& e) {
        r.error = valid_utf8(e.what());
    }
    return r;
}

}  // namespace statescope::studio
