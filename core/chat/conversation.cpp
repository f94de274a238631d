#include "core/chat/conversation.h"

#include <algorithm>
#include <chrono>

#include "core/analysis/probes/prompts.h"
#include "core/error.h"

namespace statescope {

namespace {

using Clock = std::chrono::steady_clock;

std::size_t common_prefix(std::span<const std::int32_t> a, std::span<const std::int32_t> b) {
    const std::size_t n = std::min(a.size(), b.size());
    std::size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

bool is_prefix(std::span<const std::int32_t> p, std::span<const std::int32_t> of) {
    return p.size() <= of.size() && std::equal(p.begin(), p.end(), of.begin());
}

}  // namespace

Conversation::Conversation(Model& model, const Tokenizer& tokenizer, ChatFormat format)
    : model_(model), tokenizer_(tokenizer), format_(std::move(format)), seq_(model) {}

int Conversation::add(std::string role, std::string content) {
    ConversationNode n;
    n.role = std::move(role);
    n.content = std::move(content);
    n.parent = leaf_;
    nodes_.push_back(std::move(n));
    const int id = int(nodes_.size()) - 1;
    if (leaf_ >= 0) nodes_[std::size_t(leaf_)].children.push_back(id);
    leaf_ = id;
    return id;
}

int Conversation::edit(int node, std::string content) {
    const ConversationNode& old = nodes_.at(std::size_t(node));
    leaf_ = old.parent;
    return add(old.role, std::move(content));
}

void Conversation::select(int node) {
    if (node < -1 || node >= int(nodes_.size()))
        throw Error("conversation: no message " + std::to_string(node));
    leaf_ = node;
}

void Conversation::clear() {
    nodes_.clear();
    prompt_path_.clear();
    prompt_cache_.clear();
    leaf_ = -1;
}

std::vector<int> Conversation::path() const {
    std::vector<int> out;
    for (int n = leaf_; n >= 0; n = nodes_[std::size_t(n)].parent) out.push_back(n);
    std::reverse(out.begin(), out.end());
    return out;
}

nlohmann::ordered_json Conversation::messages() const {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (int n : path())
        out.push_back(
            {{"role", nodes_[std::size_t(n)].role}, {"content", nodes_[std::size_t(n)].content}});
    return out;
}

std::string Conversation::render(std::size_t n_messages, bool add_generation_prompt) const {
    nlohmann::ordered_json all = messages();
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < n_messages && i < all.size(); ++i) msgs.push_back(all[i]);
    return render_messages(std::move(msgs), add_generation_prompt);
}

std::string Conversation::render_messages(nlohmann::ordered_json messages,
                                          bool add_generation_prompt) const {
    // JRT only in a prompt for a reply: the renderings that place message boundaries (without the
    // generation prompt) stay as stored, so snapshots up to the message before are still reused.
    if (read_twice_ && add_generation_prompt && !messages.empty() &&
        messages.back().value("role", "") == "user") {
        auto& content = messages.back()["content"];
        if (content.is_string()) content = jrt_message(content.get<std::string>());
    }
    return format_.chat_template.render(messages, add_generation_prompt, format_.bos_token,
                                        format_.eos_token, format_.extra, format_.now);
}

std::vector<std::int32_t> Conversation::encode(const std::string& text) const {
    return tokenizer_.encode(text, format_.add_special_tokens);
}

void Conversation::set_read_twice(bool on) {
    if (on == read_twice_) return;
    read_twice_ = on;
    prompt_path_.clear();  // the cached prompt was rendered the other way
    prompt_cache_.clear();
}

std::string Conversation::prompt_text() const {
    return render(path().size(), true);
}

std::vector<std::int32_t> Conversation::prompt_ids() const {
    const std::vector<int> p = path();
    if (p.empty() || p != prompt_path_) {
        prompt_cache_ = encode(render(p.size(), true));
        prompt_path_ = p;
    }
    return prompt_cache_;
}

Conversation::Prepared Conversation::prepare(std::int64_t chunk, const ProgressFn& progress) {
    Prepared out;
    out.prompt = prompt_ids();
    const std::vector<std::int32_t>& prompt = out.prompt;
    if (prompt.empty()) throw Error("conversation: the rendered prompt has no tokens");
    const std::vector<int> path = this->path();

    // Boundaries of the last two messages that have no usable snapshot: the common token prefix
    // of the rendering up to that message and the prompt. Earlier messages got theirs when the
    // replies after them were prefilled.
    struct Boundary {
        std::size_t position;
        int node;
    };
    std::vector<Boundary> boundaries;
    int best_node = -1;
    for (std::size_t k = path.size(); k-- > 0;) {
        const ConversationNode& n = nodes_[std::size_t(path[k])];
        if (n.snapshot && n.snapshot_ids.size() < prompt.size() &&
            is_prefix(n.snapshot_ids, prompt)) {
            best_node = path[k];
            break;
        }
        if (path.size() - k > 2) continue;
        try {
            const auto ids = encode(render(k + 1, false));
            const std::size_t b = common_prefix(ids, prompt);
            if (b > 0) boundaries.push_back({b, path[k]});
        } catch (const Error&) {
            // Some templates refuse a conversation that ends here (e.g. on an assistant turn);
            // then this message simply gets no snapshot.
        }
    }
    std::sort(boundaries.begin(), boundaries.end(),
              [](const Boundary& a, const Boundary& b) { return a.position < b.position; });

    // Start from the longest usable state: what the sequence holds now, or the best snapshot.
    // A start past a boundary that still needs its snapshot would skip it, so the sequence's own
    // state is used only when it does not.
    const std::size_t first_boundary = boundaries.empty() ? prompt.size() : boundaries[0].position;
    const std::size_t snap_len =
        best_node >= 0 ? nodes_[std::size_t(best_node)].snapshot_ids.size() : 0;
    const bool keep_seq = seq_ids_.size() < prompt.size() && seq_ids_.size() > snap_len &&
                          seq_ids_.size() <= first_boundary && is_prefix(seq_ids_, prompt);
    if (!keep_seq) {
        if (best_node >= 0) {
            const ConversationNode& n = nodes_[std::size_t(best_node)];
            seq_.restore(*n.snapshot);
            seq_ids_ = n.snapshot_ids;
            nodes_[std::size_t(best_node)].snapshot_used = ++use_clock_;
        } else {
            seq_.reset();
            seq_ids_.clear();
        }
    }
    out.reused_tokens = std::int64_t(seq_ids_.size());

    const std::int64_t total = std::int64_t(prompt.size());
    std::size_t start = seq_ids_.size();
    auto run = [&](std::size_t end, std::vector<float>* logits) {
        const auto span = std::span(prompt).subspan(start, end - start);
        std::int64_t done_here = 0;
        const bool ok = model_.prefill(
            seq_, span, chunk,
            [&](std::int64_t done, std::int64_t) {
                done_here = done;
                return !progress || progress(std::int64_t(start) + done, total);
            },
            logits);
        seq_ids_.insert(seq_ids_.end(), span.begin(), span.begin() + done_here);
        start += std::size_t(done_here);
        return ok;
    };
    auto take_snapshot = [&](int node) {
        ConversationNode& n = nodes_[std::size_t(node)];
        n.snapshot = seq_.snapshot();
        n.snapshot_ids = seq_ids_;
        n.snapshot_used = ++use_clock_;
        evict_snapshots(node);
    };
    for (const Boundary& b : boundaries) {
        if (b.position < start || b.position >= prompt.size()) continue;
        if (b.position > start && !run(b.position, nullptr)) {
            out.cancelled = true;
            return out;
        }
        take_snapshot(b.node);
    }
    if (!run(prompt.size(), &out.logits)) {
        out.cancelled = true;
        out.logits.clear();
        return out;
    }
    for (const Boundary& b : boundaries)
        if (b.position == prompt.size()) take_snapshot(b.node);
    return out;
}

Conversation::Reply Conversation::reply(const GenerateOptions& options, const TokenFn& on_token) {
    const auto t0 = Clock::now();
    Reply r;
    Prepared p = prepare(options.prefill_chunk, options.prefill_progress);
    r.reused_tokens = p.reused_tokens;
    r.prepare_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.stats.prompt_tokens = std::int64_t(p.prompt.size());
    r.prompt = p.prompt;
    if (p.cancelled) {
        r.stats.stop = StopReason::Cancelled;
        return r;
    }
    GenerateOptions opts = options;
    opts.detokenize = [this](std::span<const std::int32_t> ids) {
        return tokenizer_.decode(ids, /*skip_special_tokens=*/true);
    };
    r.stats =
        generate_from_logits(model_, seq_, p.prompt, std::move(p.logits), opts, on_token, &r.ids);
    r.stats.prefill_seconds = r.prepare_seconds;
    r.stats.time_to_first_token += r.prepare_seconds;
    // The sequence holds the prompt and every generated token but the last (never fed).
    if (!r.ids.empty()) seq_ids_.insert(seq_ids_.end(), r.ids.begin(), r.ids.end() - 1);
    if (!r.ids.empty()) r.node = add("assistant", r.stats.text);
    return r;
}

Conversation::Reply Conversation::regenerate(const GenerateOptions& options,
                                             const TokenFn& on_token) {
    if (leaf_ < 0 || nodes_[std::size_t(leaf_)].role != "assistant")
        throw Error("regenerate: the last message is not an assistant reply");
    const int old = leaf_;
    leaf_ = nodes_[std::size_t(leaf_)].parent;
    Reply r = reply(options, on_token);
    if (r.node < 0) leaf_ = old;  // nothing came: the old reply stays
    return r;
}

void Conversation::evict_snapshots(int keep) {
    std::size_t total = snapshot_bytes();
    while (total > snapshot_budget_) {
        int victim = -1;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            const auto& n = nodes_[i];
            if (!n.snapshot || int(i) == keep) continue;
            if (victim < 0 || n.snapshot_used < nodes_[std::size_t(victim)].snapshot_used)
                victim = int(i);
        }
        if (victim < 0) return;
        ConversationNode& v = nodes_[std::size_t(victim)];
        total -= v.snapshot->bytes();
        v.snapshot.reset();
        v.snapshot_ids.clear();
    }
}

std::size_t Conversation::snapshot_bytes() const {
    std::size_t n = 0;
    for (const auto& node : nodes_)
        if (node.snapshot) n += node.snapshot->bytes();
    return n;
}

}  // namespace statescope
